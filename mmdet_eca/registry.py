"""The ``mmdet_eca`` scope of MMEngine's registries.

A config that inherits ``mmdet_eca::<folder>/<file>.py`` gets
``_scope_='mmdet_eca'`` on each component that file introduces (its
``custom_hooks``, say), and MMEngine then builds them from the registry of
that scope, which it finds by importing ``mmdet_eca.registry``. mmdet-eca
registers its components in MMDetection's registries, so that configs in
the ``mmdet`` scope find them as they find MMDetection's own; each registry
here is an empty child of MMDetection's, and looks everything up there.
"""
from mmdet import registry as _mmdet
from mmengine.registry import Registry

SCOPE = 'mmdet_eca'


def _children() -> dict:
    children = {}
    for name, parent in sorted(vars(_mmdet).items()):
        if isinstance(parent, Registry):
            children[name] = Registry(parent.name, parent=parent, scope=SCOPE)
    return children


globals().update(_children())
__all__ = ['SCOPE'] + sorted(k for k, v in globals().items()
                             if isinstance(v, Registry))
