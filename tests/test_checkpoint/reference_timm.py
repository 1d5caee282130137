"""An ECA-ResNet-D laid out like timm's ``ecaresnet50d``/``ecaresnet101d``.

Written for the tests from timm's key names, independently of
``mmdet_eca``: a deep stem ``conv1.{0,1,3,4,6}`` + ``bn1`` (32, 32, 64
channels), average-pool shortcuts ``downsample.{0: pool, 1: conv, 2: BN}``,
the ECA named ``se`` after ``bn3``, and an ``fc`` classifier. timm itself
is not installed here.
"""
import torch.nn as nn
import torch.nn.functional as F

from reference_models import RefECA

LAYERS = {26: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}


class RefTimmBottleneck(nn.Module):

    def __init__(self, inplanes, planes, stride, k):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.se = RefECA(k)
        self.downsample = None
        if stride != 1 or inplanes != out:
            pool = nn.AvgPool2d(2, stride, ceil_mode=True,
                                count_include_pad=False) if stride > 1 \
                else nn.Identity()
            self.downsample = nn.Sequential(
                pool, nn.Conv2d(inplanes, out, 1, bias=False),
                nn.BatchNorm2d(out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.se(self.bn3(self.conv3(y)))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(y + shortcut)


class RefTimmECAResNetD(nn.Module):
    """timm-named ECA-ResNet-D.

    Args:
        depth (int): 50 or 101 (26 gives timm's 2-2-2-2 block counts).
        kernel_sizes (Sequence[int]): ECA kernel size per stage; timm's are
            5, 5, 5, 7.
        stem (Sequence[int]): The deep stem's first two widths; (24, 32) is
            timm's tiered stem.
    """

    def __init__(self, depth=50, kernel_sizes=(5, 5, 5, 7), stem=(32, 32),
                 num_classes=1000):
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, stem[0], 3, 2, 1, bias=False),
            nn.BatchNorm2d(stem[0]), nn.ReLU(),
            nn.Conv2d(stem[0], stem[1], 3, 1, 1, bias=False),
            nn.BatchNorm2d(stem[1]), nn.ReLU(),
            nn.Conv2d(stem[1], 64, 3, 1, 1, bias=False))
        self.bn1 = nn.BatchNorm2d(64)
        inplanes = 64
        for i, (n, k) in enumerate(zip(LAYERS[depth], kernel_sizes)):
            planes = 64 * 2**i
            blocks = []
            for j in range(n):
                blocks.append(
                    RefTimmBottleneck(inplanes, planes,
                                      2 if i and not j else 1, k))
                inplanes = planes * 4
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.fc = nn.Linear(inplanes, num_classes)

    def features(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 3, 2, 1)
        outs = []
        for i in range(1, 5):
            x = getattr(self, f'layer{i}')(x)
            outs.append(x)
        return outs
