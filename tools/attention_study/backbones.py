"""Backbones and layers that only the attention comparison builds.

``tools/compare_attention.py`` trains the same detector with no attention
(MMDetection's own ``ResNet``), Squeeze-and-Excitation and ECA. The SE
variant needs an SE-ResNet that a config can name; this module registers
the benchmark's comparator (:mod:`analysis_tools.se_resnet`) in
MMDetection's ``MODELS`` as ``SEResNet``, and MMDetection's ``SELayer`` as
a plugin, ``SEPlugin``, for configs with ECA plugins. It lives outside the
installed ``mmdet_eca`` package: the comparison configs import it with
``custom_imports=dict(imports=['mmdet_eca', 'attention_study.backbones'])``
and the tool puts ``tools/`` on ``PYTHONPATH``.
"""
from mmdet.models.layers import SELayer
from mmdet.registry import MODELS

from analysis_tools.se_resnet import SEBasicBlock
from analysis_tools.se_resnet import SEResNet as _SEResNet


@MODELS.register_module()
class SEResNet(_SEResNet):
    """SE-ResNet (Hu et al., CVPR 2018, https://arxiv.org/abs/1709.01507)
    trainable from a config, initialised as the other two variants.

    Args:
        depth (int): 18, 34, 50, 101 or 152.
        se_ratio (int): Channel reduction of every SE bottleneck.
            Defaults to 16.
        **kwargs: Arguments of mmdet's ``ResNet``.
    """

    def __init__(self, depth: int, se_ratio: int = 16, **kwargs) -> None:
        self.se_ratio = se_ratio
        super().__init__(depth=depth, **kwargs)
        if (self.zero_init_residual and kwargs.get('init_cfg') is None
                and kwargs.get('pretrained') is None):
            # mmdet's ResNet zero-inits the last norm of each block only
            # when `block is BasicBlock/Bottleneck`, which an SE subclass
            # fails; ResNet and ECAResNet both get it, so SE must too for a
            # fair comparison.
            last_norm = 'norm2' if self.block is SEBasicBlock else 'norm3'
            for name in self.res_layers:
                for block in getattr(self, name):
                    block.init_cfg = dict(
                        type='Constant', val=0, override=dict(name=last_norm))

    def make_res_layer(self, **kwargs):
        return super().make_res_layer(se_ratio=self.se_ratio, **kwargs)


@MODELS.register_module()
class SEPlugin(SELayer):
    """MMDetection's SE layer (reduction 16) for a backbone's plugin slots,
    where the comparison's SE variant puts it in place of the ECA plugin.

    Args:
        in_channels (int): Channels of the slot; the backbone passes it.
        ratio (int): Channel reduction. Defaults to 16.
    """

    _abbr_ = 'se'

    def __init__(self, in_channels: int, ratio: int = 16) -> None:
        super().__init__(in_channels, ratio=ratio)
