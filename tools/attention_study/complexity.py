"""Size and cost of each variant's detector, for the study's table."""
from typing import Dict, Tuple

from mmengine.config import Config

from analysis_tools.detectors import build_detector, detector_counts


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
    hw = input_size(cfg)
    counts = detector_counts(build_detector(cfg), hw)
    return dict(
        params=counts['params'],
        backbone_params=counts['backbone_params'],
        macs=counts['macs'],
        input_hw=list(hw))
