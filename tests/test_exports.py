"""Every class the package registers for configs is exported by name."""
import mmdet_eca
from mmdet import registry


def test_every_registered_class_is_in_all():
    registered = {
        name
        for reg in (registry.MODELS, registry.HOOKS, registry.RUNNERS)
        for name, cls in reg.module_dict.items()
        if cls.__module__.startswith('mmdet_eca.')
    }
    assert {'ECA', 'ECACSPNeXt', 'ECACSPDarknet', 'ECAFPN',
            'ECAPAFPN'} <= registered
    assert registered <= set(mmdet_eca.__all__)
    for name in registered:
        assert getattr(mmdet_eca, name).__name__ == name
