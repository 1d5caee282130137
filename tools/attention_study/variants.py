"""The models the attention comparison trains, as config edits.

A variant changes only the model's attention: for an ECA-ResNet config the
backbone's type and the attention's own arguments (here); for ECA as a
plugin, in a CSP backbone or in a neck, that one place
(:mod:`.placements`). Depth, widths, norms, strides and initialisation
stay the config's, so the variants differ in the attention alone.

* ``none``: MMDetection's own ``ResNet`` (``ResNetV1d`` for an
  ``ECAResNetV1d`` config), no attention.
* ``se``: Squeeze-and-Excitation in every block (Hu et al., CVPR 2018,
  https://arxiv.org/abs/1709.01507), reduction 16, where ECA sits.
* ``eca``: the config's ECA backbone with the paper's gate and
  initialisation (an ``eca_identity_init`` in the config is dropped).
* ``eca-identity``: the config's ECA starting as the identity
  (``eca_identity_init=True``, :mod:`mmdet_eca.layers.identity_gate`), the
  way to insert ECA into a network pretrained without it.
* ``eca-k<digits>``: ECA with fixed kernel sizes, one digit per stage
  (``eca-k3333``) or one for all (``eca-k3``), as in the paper's kernel
  size ablation (ECA-Net, Wang et al., CVPR 2020,
  https://arxiv.org/abs/1910.03151, Fig. 4).
"""
import copy
import re
from typing import Dict, List, Sequence

from mmdet_eca.errors import ConfigError
from .placements import (ECA_CSP, ECA_NECKS, csp_variant, has_eca_plugins,
                         neck_variant, plugin_variant)

DEFAULT_VARIANTS = ('none', 'se', 'eca')
# the transfer study (tools/compare_attention.py --transfer): plain from
# plain, ECA inserted as the identity into plain, ECA from ECA-pretrained,
# SE from SE-pretrained
TRANSFER_VARIANTS = ('none', 'eca-identity', 'eca', 'se')
NAMED_VARIANTS = DEFAULT_VARIANTS + ('eca-identity', )
ECA_TYPES = {'ECAResNet': 'ResNet', 'ECAResNetV1d': 'ResNetV1d'}
# the arguments only ECAResNet takes
ECA_ARGS = ('eca_kernel_sizes', 'eca_gamma', 'eca_beta',
            'eca_identity_init')
FIXED_K = re.compile(r'eca-k([13579]|[13579]{4})$')


def check_variants(names: Sequence[str]) -> List[str]:
    """Validate variant names; returns them as a list (order kept).

    Raises:
        ConfigError: For an unknown or repeated name.
    """
    names = list(names)
    for name in names:
        if name not in NAMED_VARIANTS and not FIXED_K.match(name):
            raise ConfigError(
                f'unknown attention variant {name!r}: expected none, se, '
                'eca, eca-identity, or eca-k with one or four odd digits '
                '(eca-k3, eca-k3577)')
        if names.count(name) > 1:
            raise ConfigError(f'attention variant {name!r} given twice')
    return names


def variant_backbone(backbone: Dict, variant: str,
                     config_file: str = 'the config') -> Dict:
    """``backbone`` (an ECA-ResNet config dict) turned into ``variant``.

    Args:
        backbone (dict): ``model.backbone`` of the config, of type
            ``ECAResNet`` or ``ECAResNetV1d``.
        variant (str): A name accepted by :func:`check_variants`.
        config_file (str): Named in the error message.

    Returns:
        dict: A new backbone config.

    Raises:
        ConfigError: If the backbone is not an ECA-ResNet.
    """
    check_variants([variant])
    eca_type = backbone.get('type')
    if eca_type not in ECA_TYPES:
        raise ConfigError(
            f'{config_file}: model.backbone.type is {eca_type!r}; the '
            'attention comparison needs an ECA-ResNet backbone (one of '
            f'{", ".join(sorted(ECA_TYPES))})')
    out = copy.deepcopy(dict(backbone))
    if variant == 'eca-identity':
        out['eca_identity_init'] = True
        return out
    out.pop('eca_identity_init', None)
    if variant == 'eca':
        return out
    match = FIXED_K.match(variant)
    if match:
        digits = match.group(1)
        out['eca_kernel_sizes'] = digits * 4 if len(digits) == 1 else digits
        return out
    for key in ECA_ARGS:
        out.pop(key, None)
    if variant == 'none':
        out['type'] = ECA_TYPES[eca_type]
    else:  # se
        out['type'] = 'SEResNet'
        if eca_type == 'ECAResNetV1d':
            # ResNetV1d is ResNet with these two set
            out.update(deep_stem=True, avg_down=True)
    return out


def variant_model(model: Dict, variant: str,
                  config_file: str = 'the config') -> Dict:
    """``model`` (a detector config dict with ECA) turned into ``variant``.

    The ECA is looked for in this order: an ECA-ResNet backbone, ECA
    plugins in the backbone, an ECA CSP backbone, an ECA neck; the first
    one found is the one that varies.

    Args:
        model (dict): ``model`` of the config.
        variant (str): A name accepted by :func:`check_variants`.
        config_file (str): Named in error messages.

    Returns:
        dict: A new model config.

    Raises:
        ConfigError: If the model has no ECA, or the variant does not
            apply to where it is.
    """
    check_variants([variant])
    out = copy.deepcopy(dict(model))
    backbone, neck = dict(out['backbone']), dict(out.get('neck') or {})
    match = FIXED_K.match(variant)
    digits = match.group(1) if match else None
    if backbone.get('type') in ECA_TYPES:
        out['backbone'] = variant_backbone(backbone, variant, config_file)
    elif has_eca_plugins(backbone):
        out['backbone'] = plugin_variant(backbone, variant, digits,
                                         config_file)
    elif backbone.get('type') in ECA_CSP:
        out['backbone'] = csp_variant(backbone, variant, digits, config_file)
    elif neck.get('type') in ECA_NECKS:
        out['neck'] = neck_variant(neck, variant, digits, config_file)
    else:
        raise ConfigError(
            f'{config_file}: the model has no ECA to compare: the attention '
            'comparison needs an ECA backbone (one of '
            f'{", ".join(sorted(set(ECA_TYPES) | set(ECA_CSP)))}), ECA '
            "plugins (plugins=[dict(cfg=dict(type='ECA'), ...)]) or an ECA "
            f'neck ({", ".join(sorted(ECA_NECKS))})')
    return out
