"""EfficientNet with Efficient Channel Attention in place of SE.

MMDetection's ``EfficientNet`` (Tan and Le, https://arxiv.org/abs/1905.11946)
puts a squeeze-and-excitation layer in every block, hard-coded in its
``InvertedResidual`` and ``EdgeResidual``. Here each block has an ECA
(https://arxiv.org/abs/1910.03151) in the same place instead: on the
block's expanded (mid) channels, after the depthwise conv (the fused
expansion conv of an edge residual), before the projection. This is the
EfficientNet-B0 + ECA study's model: 4,652,084 parameters with a 1280->1000
classifier against 5,288,548 with SE (its SE layers hold 636,540, the ECA
layers 76), 73.31% ImageNet top-1 after 52 epochs against 73.17% with SE
and 72.57% without attention.

Module names are MMDetection's (``layers.L.J.depthwise_conv`` ...) with
``se`` replaced by ``eca`` (``layers.L.J.eca.conv.weight``), so SE
EfficientNet weights load for everything but the attention: see
:meth:`ECAEfficientNet.prepare_state_dict`.
"""
import logging
from typing import List, NamedTuple, Sequence, Tuple, Union

import torch
from mmdet.models.backbones.efficientnet import (EdgeResidual, EfficientNet,
                                                 model_scaling)
from mmdet.models.layers import InvertedResidual
from mmdet.models.utils import make_divisible
from mmdet.registry import MODELS
from mmengine.logging import print_log
from mmengine.model import Sequential
from torch import Tensor

from ..layers.activation_checkpoint import maybe_checkpoint
from ..layers.eca import ECAModule
from ..layers.kernel_sizes import (check_checkpoint_kernel_sizes,
                                   check_kernel_size, parse_kernel_sizes)
from .eca_block import ECABlock
from .efficientnet_keys import (OPENMMLAB_HEAD, TIMM_HEAD,
                                convert_timm_efficientnet, describe_se_keys,
                                is_eca_key, is_openmmlab_classifier, is_se_key,
                                is_timm_efficientnet, layer_of,
                                strip_backbone_prefix)
from .rename_keys import add_prepare_hook, rename_under_prefix

EfficientNetKernelSizes = Union[str, int, Sequence[int]]


class ECAMBConv(ECABlock, InvertedResidual):
    """MMDetection's ``InvertedResidual`` with ECA where SE was.

    EfficientNet's MBConv block (named apart from MobileNetV2's
    ``ECAInvertedResidual``, whose ECA sits after the projection).

    Args:
        eca_kernel_size (int): Odd kernel size of the block's ECA.
        **kwargs: Arguments of mmdet's ``InvertedResidual`` but ``se_cfg``.
    """

    # the projection convolves (and keeps) what the ECA returns
    eca_keep_output = True

    def forward(self, x: Tensor) -> Tensor:

        def _inner_forward(x):
            out = self.expand_conv(x) if self.with_expand_conv else x
            out = self.linear_conv(self.eca(self.depthwise_conv(out)))
            if self.with_res_shortcut:
                return x + self.drop_path(out)
            return out

        return maybe_checkpoint(_inner_forward, x, self.with_cp)


class ECAEdgeResidual(ECABlock, EdgeResidual):
    """MMDetection's ``EdgeResidual`` with ECA after its expansion conv.

    Args:
        eca_kernel_size (int): Odd kernel size of the block's ECA.
        **kwargs: Arguments of mmdet's ``EdgeResidual`` but ``se_cfg``.
    """

    eca_keep_output = True

    def forward(self, x: Tensor) -> Tensor:

        def _inner_forward(x):
            out = self.conv2(self.eca(self.conv1(x)))
            if self.with_residual:
                return x + self.drop_path(out)
            return out

        return maybe_checkpoint(_inner_forward, x, self.with_cp)


class BlockSetting(NamedTuple):
    """One block of an EfficientNet as MMDetection builds it.

    ``layer`` indexes ``EfficientNet.layers`` (0 is the stem, so blocks
    start at 1) and ``index`` the block in it.
    """
    layer: int
    index: int
    edge: bool
    in_channels: int
    mid_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    with_residual: bool


def efficientnet_blocks(arch: str) -> List[BlockSetting]:
    """Every block of MMDetection's ``EfficientNet(arch)``, in order.

    The channel and depth scaling is MMDetection's own (``model_scaling``);
    the rest follows ``EfficientNet.make_layer``, including its edge-TPU
    rule (a later block of expansion 3 has expansion 4 and no residual).

    Args:
        arch (str): A key of ``EfficientNet.arch_settings``.

    Returns:
        list[BlockSetting]: All blocks, also those of layers that a small
        ``out_indices`` leaves unbuilt.
    """
    if arch not in EfficientNet.arch_settings:
        raise ValueError(f'arch={arch!r} is not an EfficientNet arch: '
                         f'expected one of '
                         f"{', '.join(EfficientNet.arch_settings)}")
    layer_setting = model_scaling(EfficientNet.layer_settings[arch[:1]],
                                  EfficientNet.arch_settings[arch])
    in_channels = make_divisible(layer_setting[0][0][1], 8)
    blocks = []
    for layer, layer_cfg in enumerate(layer_setting[1:-1], 1):
        for index, (kernel_size, out_channels, _, stride, expand_ratio,
                    block_type) in enumerate(layer_cfg):
            edge = block_type == 1
            with_residual = True
            if edge and index > 0 and expand_ratio == 3:
                with_residual, expand_ratio = False, 4
            out_channels = make_divisible(out_channels, 8)
            blocks.append(
                BlockSetting(layer, index, edge, in_channels,
                             int(in_channels * expand_ratio), out_channels,
                             kernel_size, stride, with_residual))
            in_channels = out_channels
    return blocks


def eca_kernel_sizes_for(blocks: Sequence[BlockSetting],
                         value: EfficientNetKernelSizes,
                         gamma: float = 2,
                         beta: float = 1) -> Tuple[int, ...]:
    """One ECA kernel size per block from a config value.

    Args:
        blocks (Sequence[BlockSetting]): From :func:`efficientnet_blocks`.
        value (str | int | Sequence[int]): ``'adaptive'`` (the paper's rule
            on each block's mid channels), one odd int for every block, or
            one per block (a sequence or a digit string).
        gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        beta (float): ``b`` of the adaptive rule. Defaults to 1.

    Returns:
        tuple[int]: One odd kernel size per block of ``blocks``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return (check_kernel_size(value), ) * len(blocks)
        except ValueError as err:
            raise ValueError(f'eca_kernel_sizes={value!r}: {err}') from None
    return parse_kernel_sizes(value, [b.mid_channels for b in blocks],
                              gamma, beta)


@MODELS.register_module()
class ECAEfficientNet(EfficientNet):
    """EfficientNet with ECA in place of every block's SE.

    All of MMDetection's ``EfficientNet`` arguments (``arch`` b0..b8 and the
    edge-TPU ``es``/``em``/``el``, ``drop_path_rate``, ``out_indices``,
    ``frozen_stages``, ``conv_cfg``, ``norm_cfg``, ``act_cfg``,
    ``norm_eval``, ``with_cp``, ``init_cfg``) keep their meaning. The
    edge-TPU archs have no SE in MMDetection; they get an ECA in the same
    place all the same (after the fused expansion conv of an edge residual).

    Each ECA's kernel size follows the paper's adaptive rule on its block's
    mid channels by default (B0: 3 for 32 and 96 channels, 5 for 144 to
    1152). ECA's ``Conv1d`` keeps PyTorch's default initialisation, as in
    the reference code (MMDetection's init only touches ``Conv2d`` and
    norms).

    Args:
        arch (str): Architecture, a key of ``arch_settings``.
            Defaults to ``'b0'``.
        eca_kernel_sizes (str | int | Sequence[int]): ``'adaptive'``, one
            odd int for every block, or one odd int per block of the arch
            in order (``layers.1.0``, ``layers.2.0``, ...; B0 has 16, also
            when ``out_indices`` leaves later layers unbuilt), as a
            sequence or a digit string. Defaults to ``'adaptive'``.
        eca_gamma (float): ``gamma`` of the adaptive rule. Defaults to 2.
        eca_beta (float): ``b`` of the adaptive rule. Defaults to 1.
        eca_identity_init (bool): Start every ECA as the identity (gate
            ``2 * sigmoid``, zero weight), for plain-pretrained weights:
            see :mod:`mmdet_eca.layers.identity_gate`. Defaults to False
            (the paper's ECA, which ECA-pretrained weights need).
        *args, **kwargs: The other arguments of mmdet's ``EfficientNet``,
            in its order (``drop_path_rate``, ``out_indices``, ...).
    """

    def __init__(self,
                 arch: str = 'b0',
                 *args,
                 eca_kernel_sizes: EfficientNetKernelSizes = 'adaptive',
                 eca_gamma: float = 2,
                 eca_beta: float = 1,
                 eca_identity_init: bool = False,
                 **kwargs) -> None:
        self.eca_identity_init = eca_identity_init
        self.block_settings = efficientnet_blocks(arch)
        self._block_index = {(b.layer, b.index): i
                             for i, b in enumerate(self.block_settings)}
        self.eca_kernel_sizes = eca_kernel_sizes_for(
            self.block_settings, eca_kernel_sizes, eca_gamma, eca_beta)
        super().__init__(arch, *args, **kwargs)
        add_prepare_hook(self)
        self.register_load_state_dict_post_hook(_report_attention_loading)

    def make_layer(self) -> None:
        """Build the blocks with ECA.

        MMDetection's ``make_layer`` names its block classes inline, so the
        layers are built here from :func:`efficientnet_blocks` with the
        same arguments, ``se_cfg`` left out and each block's ECA kernel
        added. Like MMDetection, layers after ``max(out_indices)`` are not
        built.
        """
        # stochastic depth grows linearly over all blocks of the arch
        # (on the CPU also when the model is built on the meta device)
        dpr = torch.linspace(0, self.drop_path_rate,
                             len(self.block_settings),
                             device='cpu').tolist()
        layer = []
        for i, (block, k) in enumerate(
                zip(self.block_settings, self.eca_kernel_sizes)):
            if block.layer > max(self.out_indices):
                break
            kwargs = dict(
                in_channels=block.in_channels,
                out_channels=block.out_channels,
                mid_channels=block.mid_channels,
                kernel_size=block.kernel_size,
                stride=block.stride,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                act_cfg=self.act_cfg,
                drop_path_rate=dpr[i],
                with_cp=self.with_cp,
                eca_kernel_size=k,
                eca_identity_init=self.eca_identity_init)
            if block.edge:
                layer.append(
                    ECAEdgeResidual(
                        with_residual=block.with_residual, **kwargs))
            else:
                layer.append(
                    ECAMBConv(
                        with_expand_conv=(block.mid_channels !=
                                          block.in_channels),
                        **kwargs))
            # the head conv (built when every block is) reads this
            self.in_channels = block.out_channels
            last = i + 1 == len(self.block_settings)
            if last or self.block_settings[i + 1].layer != block.layer:
                self.layers.append(Sequential(*layer))
                layer = []

    def train(self, mode: bool = True) -> 'ECAEfficientNet':
        # mmdet's EfficientNet.train() returns None, which breaks
        # `model.eval()` chains; nn.Module's contract is to return self.
        super().train(mode)
        return self

    def prepare_state_dict(self, state_dict, prefix: str) -> None:
        """Take SE EfficientNet weights for everything but the attention.

        A timm state dict is renamed first, an OpenMMLab classifier
        loaded without ``prefix='backbone'`` loses its ``backbone.``. When
        the weights have no ECA (an SE file, or one converted from it), the
        SE tensors, the classifier and the tensors of layers not built
        (``out_indices``) are left out, and after loading one log line says
        so in place of MMEngine's list of missing and unexpected keys (see
        :func:`_report_attention_loading`). ECA weights of the wrong kernel
        size raise instead of loading non-strictly as random weights.
        """
        source = 'SE EfficientNet weights'
        if rename_under_prefix(state_dict, prefix, is_timm_efficientnet,
                               convert_timm_efficientnet):
            source = 'timm EfficientNet weights'
        elif rename_under_prefix(state_dict, prefix,
                                 is_openmmlab_classifier,
                                 strip_backbone_prefix):
            source = 'OpenMMLab EfficientNet classifier weights'
        local = [k[len(prefix):] for k in state_dict if k.startswith(prefix)]
        self._check_eca_kernel_sizes(state_dict, prefix)
        se_keys = [k for k in local if is_se_key(k)]
        eca_keys = [k for k in local if is_eca_key(k)]
        # An ECA checkpoint loads as it is. So do detector checkpoints
        # without any attention: only a backbone-level load (init_cfg) of
        # EfficientNet weights without it is taken for a converted file.
        without_eca = not eca_keys and (
            se_keys or (prefix == '' and 'layers.0.conv.weight' in local))
        if not without_eca:
            return
        if not se_keys:
            source = ('EfficientNet weights without attention (as '
                      'converted from SE ones)')
        unbuilt = [k for k in local if layer_of(k) >= len(self.layers)]
        head = [k for k in local if k in TIMM_HEAD + OPENMMLAB_HEAD]
        for key in se_keys + unbuilt + head:
            del state_dict[prefix + key]
        parts = [describe_se_keys(se_keys)] if se_keys else []
        if unbuilt:
            layers = sorted({layer_of(k) for k in unbuilt})
            parts.append(f'{len(unbuilt)} tensors of '
                         f"{', '.join(f'layers.{i}' for i in layers)} (not "
                         f'built with out_indices={tuple(self.out_indices)})')
        if head:
            parts.append(f"the classifier ({', '.join(head)})")
        into = f" into '{prefix[:-1]}'" if prefix else ''
        left_out = f": left out {'; '.join(parts)}" if parts else ''
        eca = sum(isinstance(m, ECAModule) for m in self.modules())
        self._attention_note = (
            prefix, f'{type(self).__name__} loaded {source}{into}'
            f'{left_out}; its {eca} ECA layers keep their initialisation '
            '(the file has no ECA weights)' + (
                ': they start as the identity (eca_identity_init=True)'
                if self.eca_identity_init else ''))

    def _block_position(self, key: str):
        """The index in ``eca_kernel_sizes`` of a block's ECA weight key
        (``layers.L.J.eca.conv.weight``), None for other keys."""
        if not is_eca_key(key):
            return None
        layer, index = map(int, key.split('.')[1:3])
        return self._block_index.get((layer, index))

    def _check_eca_kernel_sizes(self, state_dict, prefix) -> None:
        check_checkpoint_kernel_sizes(
            state_dict, prefix, self.eca_kernel_sizes, self._block_position,
            lambda i: 'layers.{}.{}'.format(*self.block_settings[i][:2]))


def _report_attention_loading(module: ECAEfficientNet,
                              incompatible_keys) -> None:
    """Log the one line of an SE-to-ECA load, not its missing ECA keys.

    Registered as the backbone's load_state_dict post hook, which both
    torch's and MMEngine's loading call after the backbone's children
    loaded; the keys it removes are the ECA weights the file cannot have.
    """
    note = module.__dict__.pop('_attention_note', None)
    if note is None:
        return
    prefix, message = note
    eca = {prefix + k for k, _ in module.named_parameters() if is_eca_key(k)}
    incompatible_keys.missing_keys[:] = [
        k for k in incompatible_keys.missing_keys if k not in eca
    ]
    print_log(message, logger='current', level=logging.INFO)
