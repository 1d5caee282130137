"""The paper's ECA written out, as a reference for the fused computation.

``x * sigmoid(conv1d(avgpool(x)))`` per block, independent of
``mmdet_eca.layers``: ``tools/check_execution_paths.py`` and the tests
compare every execution path of the backbones with it.
"""
import contextlib
import functools

import torch
import torch.nn.functional as F
from mmdet_eca.backbones.eca_mobilenet_v2 import ECAInvertedResidual
from mmdet_eca.backbones.eca_resnet import ECABasicBlock, ECABottleneck


def paper_eca(x, weight):
    """``x * sigmoid(conv1d(avgpool(x)))``, as the paper writes ECA."""
    k = weight.shape[-1]
    y = F.adaptive_avg_pool2d(x, 1).flatten(1).unsqueeze(1)  # [N, 1, C]
    y = torch.sigmoid(F.conv1d(y, weight, padding=(k - 1) // 2))
    return x * y.squeeze(1)[:, :, None, None]


def paper_block_forward(block, x):
    if isinstance(block, ECAInvertedResidual):
        out = block.expand_conv(x) if block.with_expand_conv else x
        out = paper_eca(block.linear_conv(block.depthwise_conv(out)),
                        block.eca.conv.weight)
        return x + out if block.with_res_shortcut else out
    if isinstance(block, ECABottleneck):
        out = F.relu(block.norm1(block.conv1(x)))
        out = F.relu(block.norm2(block.conv2(out)))
        out = block.norm3(block.conv3(out))
    else:
        out = block.norm2(block.conv2(F.relu(block.norm1(block.conv1(x)))))
    identity = x if block.downsample is None else block.downsample(x)
    return F.relu(paper_eca(out, block.eca.conv.weight) + identity)


@contextlib.contextmanager
def paper_formulation(model):
    """Run every ECA block of ``model`` the paper's way meanwhile."""
    blocks = [
        m for m in model.modules()
        if isinstance(m, (ECABasicBlock, ECABottleneck, ECAInvertedResidual))
    ]
    for block in blocks:
        block.forward = functools.partial(paper_block_forward, block)
    try:
        yield model
    finally:
        for block in blocks:
            del block.forward
