"""SE-ResNet, the comparison point of the ECA paper, on MMDetection's ResNet.

Squeeze-and-Excitation (Hu et al., CVPR 2018, https://arxiv.org/abs/1709.01507)
sits where ECA sits: after the block's last norm, before the residual
addition. The attention is MMDetection's own ``SELayer`` (global pool,
1x1 conv to C/16, ReLU, 1x1 conv back, sigmoid, multiply), written the
textbook way, as any SE-ResNet in MMDetection would run it. Only the
benchmark builds it, so it is not registered.
"""
from mmdet.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
from mmdet.models.layers import SELayer
from torch import Tensor

from mmdet_eca.layers.activation_checkpoint import maybe_checkpoint


class SEBasicBlock(BasicBlock):
    """MMDetection's ``BasicBlock`` with SE after ``norm2``.

    Args:
        se_ratio (int): Channel reduction of the SE bottleneck.
            Defaults to 16.
        **kwargs: Arguments of mmdet's ``BasicBlock``.
    """

    def __init__(self, *args, se_ratio: int = 16, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.se = SELayer(self.conv2.out_channels, ratio=se_ratio)

    def forward(self, x: Tensor) -> Tensor:

        def _inner_forward(x):
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.se(self.norm2(self.conv2(out)))
            identity = x if self.downsample is None else self.downsample(x)
            out += identity
            return out

        return self.relu(maybe_checkpoint(_inner_forward, x, self.with_cp))


class SEBottleneck(Bottleneck):
    """MMDetection's ``Bottleneck`` with SE after ``norm3``.

    Args:
        se_ratio (int): Channel reduction of the SE bottleneck.
            Defaults to 16.
        **kwargs: Arguments of mmdet's ``Bottleneck`` (no plugins).
    """

    def __init__(self, *args, se_ratio: int = 16, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.se = SELayer(self.conv3.out_channels, ratio=se_ratio)

    def forward(self, x: Tensor) -> Tensor:

        def _inner_forward(x):
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.relu(self.norm2(self.conv2(out)))
            out = self.se(self.norm3(self.conv3(out)))
            identity = x if self.downsample is None else self.downsample(x)
            out += identity
            return out

        return self.relu(maybe_checkpoint(_inner_forward, x, self.with_cp))


class SEResNet(ResNet):
    """MMDetection's ``ResNet`` with an SE layer in every block.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        **kwargs: Arguments of mmdet's ``ResNet``.
    """

    arch_settings = {
        18: (SEBasicBlock, (2, 2, 2, 2)),
        34: (SEBasicBlock, (3, 4, 6, 3)),
        50: (SEBottleneck, (3, 4, 6, 3)),
        101: (SEBottleneck, (3, 4, 23, 3)),
        152: (SEBottleneck, (3, 8, 36, 3)),
    }
