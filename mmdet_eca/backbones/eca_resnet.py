"""ResNet backbones with Efficient Channel Attention in every block.

The blocks subclass MMDetection's ``BasicBlock``/``Bottleneck`` and keep
their module names (``conv1``, ``bn1``, ..., ``downsample``), adding only
``eca``, so the released ImageNet weights (torchvision-style names plus
``layerX.Y.eca.conv.weight``) load into these backbones key for key.

ECA-ResNet-50/101/152 is MMDetection's ``ResNet`` with the ECA plugin
(:class:`~mmdet_eca.layers.ECA`) after ``conv3`` of every block: the same
modules under the same names, so the two load each other's weights and
compute the same outputs. ``ECAResNet`` adds the per-stage kernel sizes of
the released weights, their loading checks, and a block that tells the
ECA what its input was computed from, which a plugin slot cannot (it
saves training memory: :mod:`mmdet_eca.layers.eca_scale`). mmdet's
``BasicBlock`` (depth 18/34) takes no
plugins, so :class:`ECABasicBlock` adds its ECA itself.
"""
from typing import List, Optional

from mmdet.models.backbones.resnet import BasicBlock, Bottleneck, ResNet
from mmdet.registry import MODELS
from torch import Tensor, nn

from ..layers.activation_checkpoint import maybe_checkpoint
from ..layers.eca import ECAModule
from ..layers.eca_plugin import ECA
from ..layers.kernel_sizes import (KernelSizes, check_checkpoint_kernel_sizes,
                                   parse_kernel_sizes)
from .eca_block import ECABlock, eca_tail
from .plain_load import note_plain_weights, report_plain_weights
from .rename_keys import add_prepare_hook, rename_under_prefix
from .timm_keys import convert_timm_resnet_d, is_timm_resnet, tiered_stem


class ECABasicBlock(ECABlock, BasicBlock):
    """MMDetection's ``BasicBlock`` with ECA after ``norm2``.

    The attention sits after the block's last norm and before the residual
    addition and the final ReLU, as in the paper.

    Args:
        eca_kernel_size (int): Odd kernel size of the block's ECA.
        **kwargs: Arguments of mmdet's ``BasicBlock``.
    """

    def forward(self, x: Tensor) -> Tensor:

        def _inner_forward(x):
            out = self.relu(self.norm1(self.conv1(x)))
            # rebound before the tail, as mmdet's block does, so that the
            # conv's input is freed before the norm allocates its output
            out = self.conv2(out)
            out = eca_tail(self.eca, self.norm2, out)
            out += x if self.downsample is None else self.downsample(x)
            return out

        return self.relu(maybe_checkpoint(_inner_forward, x, self.with_cp))


class ECABottleneck(Bottleneck):
    """MMDetection's ``Bottleneck`` with the ECA plugin after ``norm3``.

    The block is mmdet's ``Bottleneck`` holding :class:`~mmdet_eca.layers.
    ECA` as its last ``after_conv3`` plugin, the module a stock ``ResNet``
    builds from ``plugins=[dict(cfg=dict(type='ECA', kernel_size=k),
    position='after_conv3')]``, under the same name (``eca``): the two are
    one model with one state dict. This class only tells the ECA that its
    input is ``norm3(conv3(out))`` (:func:`eca_tail`), which a plugin slot
    cannot, when the ECA is the only ``after_conv3`` plugin. Other
    ``after_conv3`` plugins run between ``norm3`` and the ECA, so the
    attention is always the last step before the residual addition.

    Args:
        eca_kernel_size (int): Odd kernel size of the block's ECA.
        eca_identity_init (bool): Whether the ECA starts as the identity.
            Defaults to False.
        plugins (list[dict], optional): Other plugins of the block, as for
            mmdet's ``Bottleneck``. Defaults to None.
        **kwargs: Arguments of mmdet's ``Bottleneck``.
    """

    def __init__(self, *args, eca_kernel_size: int,
                 eca_identity_init: bool = False,
                 plugins: Optional[List[dict]] = None, **kwargs) -> None:
        # The class itself, not the registered name: the block builds
        # without a default registry scope too.
        eca = dict(cfg=dict(type=ECA, kernel_size=eca_kernel_size,
                            identity_init=eca_identity_init, inplace=True),
                   position='after_conv3')
        super().__init__(*args, plugins=list(plugins or []) + [eca],
                         **kwargs)

    def forward(self, x: Tensor) -> Tensor:

        def _inner_forward(x):
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.forward_plugin(out, self.after_conv1_plugin_names)
            out = self.relu(self.norm2(self.conv2(out)))
            out = self.forward_plugin(out, self.after_conv2_plugin_names)
            *others, eca = self.after_conv3_plugin_names
            if others:
                out = self.forward_plugin(self.norm3(self.conv3(out)), others)
                out = getattr(self, eca)(out)
            else:  # conv3's input freed before the norm, as in mmdet's
                out = self.conv3(out)
                out = eca_tail(getattr(self, eca), self.norm3, out)
            out += x if self.downsample is None else self.downsample(x)
            return out

        return self.relu(maybe_checkpoint(_inner_forward, x, self.with_cp))


_FUSED_CLASSES = {}


def fuse_eca_plugins(module: nn.Module) -> int:
    """Give each block with an ECA plugin after conv3 ECAResNet's tail.

    A stock ``ResNet`` (ResNeXt, RegNet, ...) with
    ``plugins=[dict(cfg=dict(type='ECA'), position='after_conv3')]`` is the
    model :class:`ECAResNet` is, but a plugin sees only its slot's
    features, so in training its ECA keeps them for backward: a quarter
    more activation memory per block. This changes the class of every such
    block (an mmdet ``Bottleneck``, or a subclass that keeps its
    ``forward``, whose last ``after_conv3`` plugin is an ECA) to one whose
    ``forward`` is :class:`ECABottleneck`'s, which tells the ECA that its
    input is ``norm3(conv3(out))`` (:func:`eca_tail`): the same function
    of the same parameters, every module still called as before. Modules,
    names and state dict stay as built. The ``FuseECAPluginsHook`` of this
    package's configs calls it before a run.

    Args:
        module (nn.Module): A model or backbone.

    Returns:
        int: How many blocks were changed.
    """
    count = 0
    for block in module.modules():
        cls = type(block)
        if (not isinstance(block, Bottleneck) or cls.forward
                is not Bottleneck.forward or not block.with_plugins
                or not block.after_conv3_plugin_names or not isinstance(
                    getattr(block, block.after_conv3_plugin_names[-1]),
                    ECAModule)):
            continue
        if cls not in _FUSED_CLASSES:
            # a subclass, so isinstance holds; named in this module, so a
            # pickled model finds it
            name = 'ECAFused' + cls.__name__ + (
                '' if cls is Bottleneck else
                '_' + cls.__module__.rsplit('.', 1)[-1])
            fused = type(name, (cls, ), dict(
                forward=ECABottleneck.forward, __module__=__name__,
                __doc__=f'{cls.__name__} with ECAResNet\'s ECA tail '
                '(fuse_eca_plugins).'))
            globals()[name] = _FUSED_CLASSES[cls] = fused
        block.__class__ = _FUSED_CLASSES[cls]
        count += 1
    return count


@MODELS.register_module()
class ECAResNet(ResNet):
    """ResNet with Efficient Channel Attention (ECA-Net) in every block.

    Paper: https://arxiv.org/abs/1910.03151. All of mmdet's ``ResNet``
    arguments keep their meaning; ECA only adds a ``[1, 1, k]`` weight to
    every block, with one ``k`` per stage. For depth 50-152 it is the model
    ``ResNet(depth, plugins=eca_plugins(ks))`` builds (same state dict),
    computed with the fused block tail.

    Args:
        depth (int): 18, 34 (BasicBlock), 50, 101 or 152 (Bottleneck).
        eca_kernel_sizes (str | Sequence[int], optional): Kernel size of
            each stage's ECA: four odd ints, a digit string like ``'3557'``,
            or ``'adaptive'`` for the paper's rule on the stage's channels.
            None takes the official release's sizes for ``depth`` (18: 3577,
            34: 3357, 50: 3557, 101 and 152: 3357), so the released ImageNet
            weights load as they are. Defaults to None.
        eca_gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        eca_beta (float): ``b`` of the adaptive rule. Defaults to 1.
        eca_identity_init (bool): Start every ECA as the identity (gate
            ``2 * sigmoid``, zero weight), for plain-pretrained weights:
            see :mod:`mmdet_eca.layers.identity_gate`. Defaults to False
            (the paper's ECA, which ECA-pretrained weights need).
        **kwargs: Arguments of mmdet's ``ResNet``.
    """

    arch_settings = {
        18: (ECABasicBlock, (2, 2, 2, 2)),
        34: (ECABasicBlock, (3, 4, 6, 3)),
        50: (ECABottleneck, (3, 4, 6, 3)),
        101: (ECABottleneck, (3, 4, 23, 3)),
        152: (ECABottleneck, (3, 8, 36, 3)),
    }
    # Per-stage kernel sizes of the released ImageNet weights
    # (eca_resnet18_k3577.pth.tar, ...).
    official_kernel_sizes = {
        18: '3577',
        34: '3357',
        50: '3557',
        101: '3357',
        152: '3357',
    }

    def __init__(self,
                 depth: int,
                 eca_kernel_sizes: KernelSizes = None,
                 eca_gamma: float = 2,
                 eca_beta: float = 1,
                 eca_identity_init: bool = False,
                 **kwargs) -> None:
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth!r} for '
                           f'{type(self).__name__}: expected one of '
                           f'{sorted(self.arch_settings)}')
        if eca_kernel_sizes is None:
            eca_kernel_sizes = self.official_kernel_sizes[depth]
        block = self.arch_settings[depth][0]
        base = kwargs.get('base_channels', 64)
        stage_channels = [base * 2**i * block.expansion for i in range(4)]
        self.eca_kernel_sizes = parse_kernel_sizes(eca_kernel_sizes,
                                                   stage_channels, eca_gamma,
                                                   eca_beta)
        self.eca_identity_init = eca_identity_init
        super().__init__(depth=depth, **kwargs)
        add_prepare_hook(self)
        self.register_load_state_dict_post_hook(report_plain_weights)
        if (self.zero_init_residual and kwargs.get('init_cfg') is None
                and kwargs.get('pretrained') is None):
            self._zero_init_last_norms()

    def _zero_init_last_norms(self) -> None:
        # ResNet decides on zero-init with `block is Bottleneck`, which an
        # ECA subclass fails, so without this `zero_init_residual` would be
        # silently ignored.
        last_norm = 'norm2' if self.block is ECABasicBlock else 'norm3'
        for name in self.res_layers:
            for block in getattr(self, name):
                block.init_cfg = dict(
                    type='Constant', val=0, override=dict(name=last_norm))

    def make_res_layer(self, **kwargs):
        # ResNet appends each stage's name to `res_layers` after building
        # it, so its length is the index of the stage being built.
        stage = len(self.res_layers)
        return super().make_res_layer(
            eca_kernel_size=self.eca_kernel_sizes[stage],
            eca_identity_init=self.eca_identity_init, **kwargs)

    def prepare_state_dict(self, state_dict, prefix: str) -> None:
        """Check (and for ``ECAResNetV1d`` rename) the entries under
        ``prefix`` before this backbone loads them: the stem, the ECA
        kernel sizes, and whether they are plain weights (see
        :mod:`.plain_load`)."""
        self._check_checkpoint_stem(state_dict, prefix)
        check_checkpoint_kernel_sizes(state_dict, prefix,
                                      self.eca_kernel_sizes)
        note_plain_weights(self, state_dict, prefix)

    def _check_checkpoint_stem(self, state_dict, prefix) -> None:
        """Fail on a checkpoint made for the other stem.

        Non-strict loading would skip the stem and load the rest, and the
        detector would train on a randomly initialised first layer. The
        official releases have the 7x7 stem (``ECAResNet``), timm's
        ``ecaresnet*d`` the deep stem (``ECAResNetV1d``, whose loading has
        renamed its keys to ``stem.*`` by the time this runs).
        """
        plain = prefix + 'conv1.weight' in state_dict
        deep = (prefix + 'stem.0.weight' in state_dict
                or prefix + 'conv1.0.weight' in state_dict)
        if self.deep_stem and plain and not deep:
            raise ValueError(
                f"the checkpoint has a 7x7 stem ('{prefix}conv1.weight', as "
                'the official ECA-Net ResNets), but the model has a deep '
                "stem: set backbone.type='ECAResNet' in the config")
        if not self.deep_stem and deep and not plain:
            raise ValueError(
                'the checkpoint has a deep stem (ResNet-D, as timm\'s '
                "ecaresnet*d), but the model has a 7x7 stem: set "
                "backbone.type='ECAResNetV1d' in the config")


@MODELS.register_module()
class ECAResNetV1d(ECAResNet):
    """ECA-ResNet with the ResNet-D stem and downsampling.

    ResNet-D (Bag of Tricks, https://arxiv.org/abs/1812.01187) replaces the
    7x7 stem with three 3x3 convs and downsamples the shortcut by average
    pooling, the layout of timm's ``ecaresnet50d``/``ecaresnet101d``. Its
    default kernel sizes are ``'adaptive'`` (5, 5, 5, 7), which are timm's.

    timm's weights load as they are (``init_cfg=dict(type='Pretrained',
    checkpoint=<timm .pth>)``): their names (``conv1.0``, ``bn1``,
    ``layerX.Y.se``) are renamed to these (``stem.0``, ``stem.7``,
    ``layerX.Y.eca``) while loading.

    Args:
        eca_kernel_sizes (str | Sequence[int]): As for :class:`ECAResNet`.
            Defaults to ``'adaptive'``.
        **kwargs: Arguments of :class:`ECAResNet`.
    """

    def __init__(self, eca_kernel_sizes: KernelSizes = 'adaptive',
                 **kwargs) -> None:
        super().__init__(
            eca_kernel_sizes=eca_kernel_sizes,
            deep_stem=True,
            avg_down=True,
            **kwargs)

    def prepare_state_dict(self, state_dict, prefix: str) -> None:
        # Non-strict loading would otherwise skip every timm-named tensor
        # (or, for a tiered stem, every stem tensor of another shape) and
        # leave those weights random.
        local = {k[len(prefix):]: v for k, v in state_dict.items()
                 if k.startswith(prefix)}
        problem = tiered_stem(local)
        if problem:
            raise ValueError(f'the checkpoint {problem}')
        rename_under_prefix(state_dict, prefix, is_timm_resnet,
                            convert_timm_resnet_d)
        super().prepare_state_dict(state_dict, prefix)
