"""What ECA learned: its channel weights averaged per class, the ECA
paper's figure (and SENet's before it), from the ECA-pretrained backbone.

Each ECA-ResNet block applies its ECA to the output of its last norm
(``norm2`` of a BasicBlock, ``norm3`` of a Bottleneck), so a forward hook
on that norm gives the ECA's input, and the module's own
:meth:`~mmdet_eca.layers.ECAModule.attention` the weights it applies.
"""
import os
import os.path as osp
from typing import Dict, List

import numpy as np
import torch

from mmdet_eca.fileio import atomic_path
from mmdet_eca.layers import ECAModule


def _eca_blocks(backbone: torch.nn.Module) -> List:
    """(stage, block, eca, norm) of the last block of each stage."""
    found = []
    for stage, name in enumerate(backbone.res_layers, start=1):
        block = getattr(backbone, name)[-1]
        eca = next(m for m in block.modules() if isinstance(m, ECAModule))
        norm = getattr(block, 'norm3', None) or block.norm2
        found.append((stage, len(getattr(backbone, name)), eca, norm))
    return found


@torch.no_grad()
def class_mean_weights(backbone: torch.nn.Module, images: torch.Tensor,
                       labels: torch.Tensor, num_classes: int,
                       batch: int = 100) -> Dict[int, np.ndarray]:
    """Per stage, the mean ECA weight of each channel per class.

    Args:
        backbone (nn.Module): An ECA-ResNet, pretrained.
        images (Tensor): Normalised images [N, 3, H, W].
        labels (Tensor): Their classes [N].
        num_classes (int): Classes.
        batch (int): Images per forward pass. Defaults to 100.

    Returns:
        dict[int, np.ndarray]: stage -> [num_classes, channels].
    """
    backbone.eval()
    blocks = _eca_blocks(backbone)
    captured: Dict[int, List[torch.Tensor]] = {s: [] for s, *_ in blocks}
    handles = []
    for stage, _, eca, norm in blocks:
        def hook(module, inputs, output, stage=stage, eca=eca):
            captured[stage].append(eca.attention(output).flatten(1))
        handles.append(norm.register_forward_hook(hook))
    try:
        for i in range(0, len(images), batch):
            backbone(images[i:i + batch])
    finally:
        for handle in handles:
            handle.remove()
    means = {}
    for stage, weights in captured.items():
        weights = torch.cat(weights)
        means[stage] = np.stack([
            weights[labels == c].mean(0).numpy()
            for c in range(num_classes)])
    return means


def plot_class_weights(means: Dict[int, np.ndarray],
                       class_names: List[str], out_file: str,
                       title: str) -> None:
    """One panel per stage: the mean ECA weight of every channel, one line
    per class (the paper's Fig. 5 in miniature); written atomically."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    stages = sorted(means)
    fig, axes = plt.subplots(1, len(stages),
                             figsize=(4.2 * len(stages), 3.6))
    for ax, stage in zip(np.atleast_1d(axes), stages):
        for name, row in zip(class_names, means[stage]):
            ax.plot(np.arange(len(row)), row, label=name, linewidth=1)
        ax.set_title(f'stage {stage}, last block ({means[stage].shape[1]} '
                     'channels)', fontsize=9)
        ax.set_xlabel('channel')
        ax.set_ylabel('mean ECA weight')
        ax.ticklabel_format(axis='y', useOffset=False)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    with atomic_path(out_file) as tmp:
        fig.savefig(tmp, dpi=100, format='png')
    plt.close(fig)
