"""Size and cost of each variant's detector, for the study's table."""
from typing import Dict, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from analysis_tools.flops import count_complexity, count_parameters


class _Features(nn.Module):
    """The detector's backbone and neck as one module (what attention
    changes; the heads' cost depends on the number of proposals)."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor):
        return self.detector.extract_feat(x)


def input_size(cfg: Config, default: Tuple[int, int] = (128, 128)):
    """(H, W) that the test pipeline resizes to, for a square image."""
    for step in cfg.get('test_dataloader', {}).get('dataset', {}).get(
            'pipeline', []):
        if step.get('type') == 'Resize' and 'scale' in step:
            w, h = step['scale']
            side = min(w, h) if step.get('keep_ratio') else None
            return (side, side) if side else (h, w)
    return default


def measure(cfg: Config) -> Dict[str, float]:
    """Parameters of the whole detector and of its backbone, and the
    backbone + neck multiply-adds for one test-size image.

    Args:
        cfg (Config): A variant's config (its ``custom_imports`` already
            imported).

    Returns:
        dict: ``params``, ``backbone_params``, ``macs``, ``input_hw``.
    """
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = cfg.model.copy()
    model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
    detector = MODELS.build(model_cfg)
    hw = input_size(cfg)
    counts = count_complexity(_Features(detector), torch.zeros(1, 3, *hw))
    return dict(
        params=count_parameters(detector),
        backbone_params=count_parameters(detector.backbone),
        macs=counts.macs,
        input_hw=list(hw))
