"""An ECA-ResNet laid out like the released ImageNet models.

Written for the tests from the paper and the release's key names
(torchvision-style ``conv1``/``bn1``/``layerX.Y.*``/``downsample.{0,1}``/
``eca.conv``/``fc``), independently of ``mmdet_eca``. It stands in for the
real weights, which cannot be downloaded here: tests give it random
weights, save them the way the release did, and check that ``mmdet_eca``
reproduces its features.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class RefECA(nn.Module):

    def __init__(self, k):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x):
        y = F.adaptive_avg_pool2d(x, 1).flatten(1).unsqueeze(1)
        y = torch.sigmoid(self.conv(y)).squeeze(1)
        return x * y[:, :, None, None]


class RefBasic(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride, k):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.eca = RefECA(k)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.eca(self.bn2(self.conv2(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class RefBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride, k):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.eca = RefECA(k)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.eca(self.bn3(self.conv3(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


ARCHS = {
    18: (RefBasic, (2, 2, 2, 2)),
    34: (RefBasic, (3, 4, 6, 3)),
    50: (RefBottleneck, (3, 4, 6, 3)),
    101: (RefBottleneck, (3, 4, 23, 3)),
    152: (RefBottleneck, (3, 8, 36, 3)),
}


class RefECAResNet(nn.Module):
    """ImageNet ECA-ResNet with the release's module names."""

    def __init__(self, depth, kernel_sizes, num_classes=1000):
        super().__init__()
        block, layers = ARCHS[depth]
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        inplanes = 64
        for i, (n, k) in enumerate(zip(layers, kernel_sizes)):
            planes = 64 * 2**i
            blocks = []
            for j in range(n):
                blocks.append(
                    block(inplanes, planes, 2 if i and not j else 1, k))
                inplanes = planes * block.expansion
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

    def forward(self, x):
        x = self.features(x)[-1]
        return self.fc(x.mean((2, 3)))


def randomize(model, seed=0):
    """Give every parameter and BN statistic a random value."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif 'bn' in name or 'downsample.1' in name:
                t.copy_(torch.rand(t.shape, generator=gen) * 0.5 + 0.25)
            else:
                t.copy_(torch.randn(t.shape, generator=gen) *
                        (2.0 / max(1, t[0].numel()))**0.5)
    return model


def official_checkpoint(model, arch='se_resnet50'):
    """What the release's ``<name>.pth.tar`` holds for ``model``.

    The release saved a DataParallel model, so every key starts with
    ``module.``, and its 'arch' field is unreliable (the ResNet-50 file
    says 'se_resnet50').
    """
    return {
        'epoch': 100,
        'arch': arch,
        'state_dict': {f'module.{k}': v
                       for k, v in model.state_dict().items()},
        'best_prec1': 77.42,
        'optimizer': {'state': {}, 'param_groups': []},
    }
