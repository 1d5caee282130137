"""Speed, memory and FLOP measurements of ECA-ResNet against ResNet and SE
(and of ECA-EfficientNet against EfficientNet with SE and without attention).

``tools/benchmark.py`` and ``tools/get_flops.py`` are thin command lines
over this subpackage.
"""
from .allocator import retain_freed_memory
from .backbones import (BACKBONES, build_backbone, build_comparison,
                        build_efficientnet_comparison, parse_backbone_name)
from .compare import (BenchmarkResult, BenchmarkSettings, format_table,
                      make_step, run_comparison)
from .memory import peak_memory
from .plain_efficientnet import PlainEfficientNet
from .resolution import parse_resolution
from .se_resnet import SEBasicBlock, SEBottleneck, SEResNet
from .timing import summarize, time_interleaved

__all__ = [
    'BACKBONES', 'BenchmarkResult', 'BenchmarkSettings', 'PlainEfficientNet',
    'SEBasicBlock', 'SEBottleneck', 'SEResNet', 'build_backbone',
    'build_comparison', 'build_efficientnet_comparison', 'format_table',
    'make_step', 'parse_backbone_name', 'parse_resolution', 'peak_memory',
    'retain_freed_memory', 'run_comparison', 'summarize', 'time_interleaved'
]
