"""A stand-in for timm's ``efficientnet_b0``/``b3`` (timm does not work here).

Written from timm's documented layout, not from mmdet_eca or MMDetection:
``conv_stem``/``bn1``, seven stages ``blocks.S.J`` (a depthwise-separable
block, then inverted residuals), squeeze-and-excitation ``se.conv_reduce``
/``se.conv_expand`` on a quarter of the block's input channels,
``conv_head``/``bn2`` and ``classifier``. Convolutions pad symmetrically and
BN uses eps 1e-5, as timm's PyTorch-trained ``efficientnet_b*`` do.
"""
import math

import torch.nn.functional as F
from torch import nn

# (block, repeats, kernel, stride, expansion, channels) of EfficientNet-B0
STAGES = [('ds', 1, 3, 1, 1, 16), ('ir', 2, 3, 2, 6, 24),
          ('ir', 2, 5, 2, 6, 40), ('ir', 3, 3, 2, 6, 80),
          ('ir', 3, 5, 1, 6, 112), ('ir', 4, 5, 2, 6, 192),
          ('ir', 1, 3, 1, 6, 320)]
SCALES = {'b0': (1.0, 1.0), 'b3': (1.2, 1.4)}


def _round(channels, width):
    value = channels * width
    rounded = max(8, int(value + 4) // 8 * 8)
    return rounded + 8 if rounded < 0.9 * value else rounded


def _conv_bn(block, conv, bn, cin, cout, k=1, stride=1, groups=1):
    setattr(block, conv, nn.Conv2d(cin, cout, k, stride, k // 2,
                                   groups=groups, bias=False))
    setattr(block, bn, nn.BatchNorm2d(cout))


class SqueezeExcite(nn.Module):

    def __init__(self, channels, reduced):
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, reduced, 1)
        self.conv_expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x):
        s = F.silu(self.conv_reduce(x.mean((2, 3), keepdim=True)))
        return x * self.conv_expand(s).sigmoid()


class Block(nn.Module):

    def __init__(self, kind, cin, cout, k, stride, expansion):
        super().__init__()
        mid = cin * expansion
        self.kind = kind
        self.skip = stride == 1 and cin == cout
        if kind == 'ds':
            _conv_bn(self, 'conv_dw', 'bn1', cin, cin, k, stride, cin)
            self.se = SqueezeExcite(cin, cin // 4)
            _conv_bn(self, 'conv_pw', 'bn2', cin, cout)
        else:
            _conv_bn(self, 'conv_pw', 'bn1', cin, mid)
            _conv_bn(self, 'conv_dw', 'bn2', mid, mid, k, stride, mid)
            self.se = SqueezeExcite(mid, cin // 4)
            _conv_bn(self, 'conv_pwl', 'bn3', mid, cout)

    def forward(self, x):
        if self.kind == 'ds':
            out = self.se(F.silu(self.bn1(self.conv_dw(x))))
            out = self.bn2(self.conv_pw(out))
        else:
            out = F.silu(self.bn1(self.conv_pw(x)))
            out = self.se(F.silu(self.bn2(self.conv_dw(out))))
            out = self.bn3(self.conv_pwl(out))
        return x + out if self.skip else out


class RefTimmEfficientNet(nn.Module):
    """timm-named EfficientNet-B0 or -B3 with a 1000-way classifier.

    Args:
        arch (str): ``'b0'`` or ``'b3'``.
    """

    def __init__(self, arch='b0'):
        super().__init__()
        width, depth = SCALES[arch]
        cin = _round(32, width)
        _conv_bn(self, 'conv_stem', 'bn1', 3, cin, 3, 2)
        stages = []
        for kind, repeats, k, stride, expansion, channels in STAGES:
            cout = _round(channels, width)
            blocks = []
            for j in range(math.ceil(repeats * depth)):
                blocks.append(Block(kind, cin, cout, k, stride if j == 0
                                    else 1, expansion))
                cin = cout
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        head = _round(1280, width)
        _conv_bn(self, 'conv_head', 'bn2', cin, head)
        self.classifier = nn.Linear(head, 1000)

    def features(self, x):
        """Outputs of stages 2, 4, 6 and of the head conv: MMDetection's
        ``EfficientNet(out_indices=(3, 4, 5, 6))``."""
        x = F.silu(self.bn1(self.conv_stem(x)))
        outs = []
        for s, stage in enumerate(self.blocks):
            x = stage(x)
            if s in (2, 4, 6):
                outs.append(x)
        outs.append(F.silu(self.bn2(self.conv_head(x))))
        return outs
