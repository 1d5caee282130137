"""Size and cost of whole detectors built from configs, side by side.

Attention changes the backbone or the neck; the heads' cost depends on the
number of proposals and predictions, which says nothing about the
attention. :func:`detector_counts` therefore gives the parameters of the
whole detector (and of its backbone and neck), and the multiply-adds of
backbone + neck (``extract_feat``) for one image, counted by
:func:`.flops.count_complexity`.
"""
import os.path as osp
import tempfile
from typing import Dict, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from .flops import count_complexity, count_parameters


class FeatureExtractor(nn.Module):
    """A detector's backbone and neck as one module."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor):
        return self.detector.extract_feat(x)


def load_config(path: str) -> Config:
    """A config file, or MMDetection's own config ``mmdet::<folder>/<file>``
    (which ``Config.fromfile`` takes only as a base)."""
    if not path.startswith('mmdet::'):
        return Config.fromfile(path)
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = osp.join(tmp, 'stock.py')
        with open(wrapper, 'w') as f:
            f.write(f'_base_ = {path!r}\n')
        return Config.fromfile(wrapper)


def build_detector(cfg: Config) -> nn.Module:
    """``cfg.model`` built without pretrained weights (``custom_imports``
    already imported)."""
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model_cfg = cfg.model.copy()
    model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
    return MODELS.build(model_cfg)


def detector_counts(detector: nn.Module,
                    hw: Tuple[int, int]) -> Dict[str, int]:
    """Parameters of ``detector`` and its parts; backbone + neck
    multiply-adds for a 1x3xHxW image.

    Args:
        detector (nn.Module): An MMDetection detector.
        hw (tuple[int, int]): Input (H, W).

    Returns:
        dict: ``params``, ``backbone_params``, ``neck_params``, ``macs``.
    """
    neck = getattr(detector, 'neck', None)
    counts = count_complexity(FeatureExtractor(detector),
                              torch.zeros(1, 3, *hw))
    return dict(
        params=count_parameters(detector),
        backbone_params=count_parameters(detector.backbone),
        neck_params=count_parameters(neck) if neck is not None else 0,
        macs=counts.macs)


def detector_table(configs: Sequence[str], hw: Tuple[int, int]) -> str:
    """A Markdown table of :func:`detector_counts` for config files, with
    the differences to the first.

    Args:
        configs (Sequence[str]): Config files (see :func:`load_config`).
        hw (tuple[int, int]): Input (H, W).
    """
    rows = [(path, detector_counts(build_detector(load_config(path)), hw))
            for path in configs]
    base = rows[0][1]
    lines = [
        f'input 1x3x{hw[0]}x{hw[1]}; multiply-adds of backbone + neck '
        '(convolutions and linear layers)', '',
        '| config | parameters | backbone | neck | multiply-adds |',
        '|---|---|---|---|---|'
    ]
    for path, c in rows:
        cells = []
        for key in ('params', 'backbone_params', 'neck_params', 'macs'):
            diff = c[key] - base[key]
            cells.append(f'{c[key]:,}' + (f' ({diff:+,})' if diff else ''))
        lines.append(f'| {path} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
