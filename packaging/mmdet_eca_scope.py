"""Lets any process's MMEngine configs inherit ``mmdet_eca::<folder>/<file>``.

Installed with the wheel beside ``mmdet_eca_scope.pth``, whose one line
imports this module when Python starts. MMEngine resolves ``pkg::path`` in
a config only for packages in its table
``mmengine.config.utils.MODULE2PACKAGE``, and a user's config is read
before its ``custom_imports`` run (MMDetection's ``tools/train.py``,
``mim train mmdet``), so ``import mmdet_eca`` comes too late to add the
entry. This adds it when that MMEngine module is first imported, and
imports nothing at start-up: no MMEngine, no torch. It never raises: a
start-up hook must not break the interpreter, and without it the config
only fails with MMEngine's own message.
"""
import importlib.abc
import importlib.util
import sys

_MODULE = 'mmengine.config.utils'


class _AddConfigScope(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loading of MMEngine's config utils
    once, so that ``mmdet_eca`` is in their table from the start."""

    def find_spec(self, name, path=None, target=None):
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)  # once; the finders after it find it
        try:
            spec = importlib.util.find_spec(name)
            exec_module = spec.loader.exec_module
        except Exception:  # noqa: B902  whatever it is, MMEngine reports it
            return None

        def exec_and_register(module):
            exec_module(module)
            table = getattr(module, 'MODULE2PACKAGE', None)
            if isinstance(table, dict):
                table.setdefault('mmdet_eca', 'mmdet_eca')

        spec.loader.exec_module = exec_and_register
        return spec


if _MODULE not in sys.modules:
    sys.meta_path.insert(0, _AddConfigScope())
