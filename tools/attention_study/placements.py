"""The comparison's variants where the ECA is not an ECA-ResNet backbone.

ECA reaches a detector config in three more ways (see docs/add_eca.md):
as a plugin in a ResNet-family backbone's ``plugins`` list, as the
attention of the real-time detectors' CSP backbones (``ECACSPNeXt``,
``ECACSPDarknet``) and on a feature pyramid's outputs (``ECAFPN``,
``ECAPAFPN``). Each function here turns that one place into a variant and
leaves the rest of the model config as it is:

* ``none``: the plugin left out; MMDetection's own ``CSPNeXt`` without
  attention or ``CSPDarknet``; MMDetection's ``FPN``/``PAFPN``.
* ``se``: Squeeze-and-Excitation (reduction 16) in the ECA plugin's slots
  (``SEPlugin`` of :mod:`attention_study.backbones`); for RTMDet the stock
  model, whose CSP layers have a C x C channel attention (SE without the
  reduction). YOLOX and the necks have no such stock attention.
* ``eca-k<digits>``: the ECA with fixed kernel sizes.
* ``eca-identity``: the ECA starting as the identity; ``eca`` and
  ``eca-k`` take the paper's gate whatever the config says.
"""
import copy
from typing import Dict, List, Optional

from mmdet_eca.errors import ConfigError
from mmdet_eca.layers.eca_plugin import eca_plugins

ECA_CSP = {'ECACSPNeXt': 'CSPNeXt', 'ECACSPDarknet': 'CSPDarknet'}
ECA_NECKS = {'ECAFPN': 'FPN', 'ECAPAFPN': 'PAFPN'}
# the arguments only the ECA CSP backbones and necks take
ECA_ONE_K_ARGS = ('eca_kernel_size', 'eca_gamma', 'eca_beta',
                  'eca_identity_init')


def is_eca_plugin(plugin: Dict) -> bool:
    """Whether an entry of a backbone's ``plugins`` list is the ECA."""
    return plugin.get('cfg', {}).get('type') == 'ECA'


def has_eca_plugins(backbone: Dict) -> bool:
    return any(is_eca_plugin(p) for p in backbone.get('plugins') or [])


def plugin_variant(backbone: Dict, variant: str, digits: Optional[str],
                   config_file: str) -> Dict:
    """``backbone`` with its ECA plugin entries turned into ``variant``.

    Args:
        backbone (dict): A backbone config with ECA in ``plugins``.
        variant (str): ``none``, ``se``, ``eca``, ``eca-identity`` or
            ``eca-k<digits>``.
        digits (str, optional): The fixed kernel sizes of ``eca-k``: one
            for every ECA, or one per stage.
        config_file (str): Named in error messages.

    Returns:
        dict: A new backbone config.
    """
    out = copy.deepcopy(dict(backbone))
    plugins = list(out['plugins'])
    eca = [p for p in plugins if is_eca_plugin(p)]
    others = [p for p in plugins if not is_eca_plugin(p)]
    # the paper's gate unless the variant asks for the identity start
    eca = [dict(p, cfg={k: v for k, v in p['cfg'].items()
                        if k != 'identity_init'}) for p in eca]
    new: List[Dict] = eca
    if variant == 'none':
        new = []
    elif variant == 'se':
        new = [dict(p, cfg=dict(type='SEPlugin')) for p in eca]
    elif variant == 'eca-identity':
        new = [dict(p, cfg=dict(p['cfg'], identity_init=True)) for p in eca]
    elif digits and len(digits) == 1:
        new = [dict(p, cfg=dict(p['cfg'], kernel_size=int(digits)))
               for p in eca]
    elif digits:
        positions = {p['position'] for p in eca}
        if len(positions) > 1:
            raise ConfigError(
                f'{config_file}: the ECA plugins sit in several slots '
                f"({', '.join(sorted(positions))}); eca-k{digits} sets one "
                'kernel size per stage in one slot: use eca-k<digit>')
        new = eca_plugins([int(d) for d in digits], positions.pop())
    out['plugins'] = others + new or None
    return out


def csp_variant(backbone: Dict, variant: str, digits: Optional[str],
                config_file: str) -> Dict:
    """An ``ECACSPNeXt``/``ECACSPDarknet`` config turned into ``variant``.

    Args:
        backbone (dict): The backbone config.
        variant (str): ``none``, ``se``, ``eca``, ``eca-identity`` or
            ``eca-k<digit>``.
        digits (str, optional): The fixed kernel size of ``eca-k``.
        config_file (str): Named in error messages.

    Returns:
        dict: A new backbone config.
    """
    out = copy.deepcopy(dict(backbone))
    eca_type = out['type']
    if variant == 'eca-identity':
        out['eca_identity_init'] = True
        return out
    out.pop('eca_identity_init', None)
    if variant == 'eca':
        return out
    if digits:
        out['eca_kernel_size'] = _one_k(digits, eca_type, config_file)
        return out
    if variant == 'se' and eca_type != 'ECACSPNeXt':
        raise ConfigError(
            f"{config_file}: YOLOX's {ECA_CSP[eca_type]} has no stock "
            'channel attention to compare with: use --variants none eca')
    for key in ECA_ONE_K_ARGS:
        out.pop(key, None)
    out['type'] = ECA_CSP[eca_type]
    if eca_type == 'ECACSPNeXt':
        # RTMDet's own C x C channel attention, or none
        out['channel_attention'] = variant == 'se'
    return out


def neck_variant(neck: Dict, variant: str, digits: Optional[str],
                 config_file: str) -> Dict:
    """An ``ECAFPN``/``ECAPAFPN`` config turned into ``variant``.

    Args:
        neck (dict): The neck config.
        variant (str): ``none``, ``eca``, ``eca-identity`` or
            ``eca-k<digit>``.
        digits (str, optional): The fixed kernel size of ``eca-k``.
        config_file (str): Named in error messages.

    Returns:
        dict: A new neck config.
    """
    out = copy.deepcopy(dict(neck))
    if variant == 'eca-identity':
        out['eca_identity_init'] = True
        return out
    out.pop('eca_identity_init', None)
    if variant == 'eca':
        return out
    if digits:
        out['eca_kernel_size'] = _one_k(digits, out['type'], config_file)
        return out
    if variant == 'se':
        raise ConfigError(f"{config_file}: {ECA_NECKS[out['type']]} has no "
                          'SE form to compare with: use --variants none eca')
    for key in ECA_ONE_K_ARGS:
        out.pop(key, None)
    out['type'] = ECA_NECKS[out['type']]
    return out


def _one_k(digits: str, eca_type: str, config_file: str) -> int:
    if len(digits) != 1:
        raise ConfigError(
            f'{config_file}: {eca_type} takes one kernel size for all its '
            f'ECAs, not one per stage: use eca-k<digit>, not eca-k{digits}')
    return int(digits)
