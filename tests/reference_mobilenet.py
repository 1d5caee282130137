"""An ECA-MobileNetV2 laid out like the released ImageNet model.

Written for the tests from the paper and the release's key names, not
from ``mmdet_eca``: the network is one ``features`` sequence (stem
``features.0.{0,1}``, 17 inverted residuals ``features.N.conv.*`` whose
last layer is the ECA, final 1x1 conv ``features.18.{0,1}``) and a
``classifier.1`` linear layer. With :func:`reference_models.randomize`
and :func:`reference_models.official_checkpoint` it stands in for
``eca_mobilenetv2_k13.pth.tar``.
"""
import torch.nn as nn
import torch.nn.functional as F

from reference_models import RefECA

# (expansion t, output channels c, blocks n, first stride s) per stage
STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
          (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def conv_bn_relu6(cin, cout, kernel, stride=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups,
                  bias=False), nn.BatchNorm2d(cout), nn.ReLU6())


class RefInvertedResidual(nn.Module):

    def __init__(self, cin, cout, stride, t, k):
        super().__init__()
        hidden = cin * t
        layers = [conv_bn_relu6(cin, hidden, 1)] if t != 1 else []
        layers += [
            conv_bn_relu6(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            RefECA(k),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class RefECAMobileNetV2(nn.Module):
    """ImageNet ECA-MobileNetV2 with the release's module names.

    Args:
        kernel_sizes (Sequence[int]): ECA kernel size per stage. The
            release uses 1 for stages with fewer than 96 output channels
            and 3 from 96 on.
    """

    def __init__(self, kernel_sizes=(1, 1, 1, 1, 3, 3, 3), num_classes=1000):
        super().__init__()
        features = [conv_bn_relu6(3, 32, 3, 2)]
        cin = 32
        self.stage_ends = []
        for (t, c, n, s), k in zip(STAGES, kernel_sizes):
            for i in range(n):
                features.append(
                    RefInvertedResidual(cin, c, s if i == 0 else 1, t, k))
                cin = c
            self.stage_ends.append(len(features) - 1)
        features.append(conv_bn_relu6(cin, 1280, 1))
        self.stage_ends.append(len(features) - 1)
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(
            nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def stage_outputs(self, x):
        """Outputs of the 7 stages and the final conv (8 maps)."""
        outs = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.stage_ends:
                outs.append(x)
        return outs

    def forward(self, x):
        x = self.features(x)
        return self.classifier(F.adaptive_avg_pool2d(x, 1).flatten(1))
