"""No private name of torch, MMEngine or MMDetection outside compat.py.

A public operation means the same on every device and release; a
kernel-level call (``torch.ops.aten``) or a private attribute may differ
between CPU and CUDA or change in the next release unannounced. So the
package reaches them in ``mmdet_eca/compat.py`` only, where each is named,
documented and tested on both torch ends (tests/test_compat.py).
"""
import ast
import importlib
import inspect
import pathlib
import types

import pytest

import mmdet_eca

PACKAGE = pathlib.Path(mmdet_eca.__file__).parent
# namedtuple's documented API carries a leading underscore
PUBLIC_UNDERSCORED = {'_asdict', '_replace', '_fields', '_make'}
FOREIGN = ('torch', 'mmengine', 'mmdet', 'mmcv')


def private(name: str) -> bool:
    return (name.startswith('_') and not name.endswith('__')
            and name not in PUBLIC_UNDERSCORED)


def package_files():
    return sorted(p for p in PACKAGE.rglob('*.py') if p.name != 'compat.py')


def own_names(trees):
    """Names the package itself defines: its functions, classes and the
    attributes it assigns."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(
                    node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
    return names


def private_uses(source: str, own: set):
    """``(line, text)`` of each use of a private name in ``source``:
    ``torch.ops``, an import from a private module or of a private name,
    and a private attribute read off anything but the package's own
    objects (``self._x`` the package assigned itself)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            text = ast.unparse(node)
            if text == 'torch.ops' or text.startswith('torch.ops.'):
                found.append((node.lineno, text))
            elif private(node.attr):
                owner = node.value
                mine = (isinstance(owner, ast.Name)
                        and owner.id in ('self', 'cls') and node.attr in own)
                if not mine:
                    found.append((node.lineno, text))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = getattr(node, 'module', None) or ''
            names = [alias.name for alias in node.names]
            if any(private(part) for part in module.split('.')) or any(
                    private(name.rsplit('.', 1)[-1]) for name in names):
                found.append((node.lineno, f'import {module} {names}'))
    return found


def test_no_private_names_outside_compat():
    files = package_files()
    own = own_names(ast.parse(p.read_text()) for p in files)
    uses = [f'{p.relative_to(PACKAGE.parent)}:{line}: {text}'
            for p in files for line, text in private_uses(p.read_text(), own)]
    assert uses == []


@pytest.mark.parametrize('source', [
    'import torch\ntorch.ops.aten.add(a, b)',
    'from torch._utils import is_compiling',
    'from mmengine.runner.checkpoint import _load_checkpoint',
    'x = runner._load_from',
    'super()._load_from_state_dict(sd, prefix)',
    'self._forward_hooks',  # a private attribute the package never set
    'import torch\ntorch._C._get_tracing_state()',
])
def test_the_check_finds_each_kind(source):
    assert private_uses(source, own={'_mine'})


@pytest.mark.parametrize('source', [
    'self._mine = 1\nself._mine', 'point._asdict()', 'x.__class__',
    'import torch\ntorch.nn.functional.batch_norm(z)',
])
def test_the_check_passes_public_and_own_names(source):
    assert private_uses(source, own={'_mine'}) == []


def test_no_private_method_of_a_foreign_base_is_overridden():
    # overriding torch's _load_from_state_dict or MMEngine's
    # _save_checkpoint_with_step ties the class to their internals
    overridden = []
    for path in package_files():
        name = '.'.join(path.relative_to(PACKAGE.parent).with_suffix('')
                        .parts).removesuffix('.__init__')
        module = importlib.import_module(name)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != name:
                continue
            for attr, value in vars(cls).items():
                # methods written in the class (not what metaclasses add:
                # ABCMeta's _abc_impl, autograd's _backward_cls)
                if not private(attr) or not isinstance(
                        value, (types.FunctionType, staticmethod,
                                classmethod, property)):
                    continue
                for base in cls.__mro__[1:]:
                    if (base.__module__.split('.')[0] in FOREIGN
                            and attr in vars(base)):
                        overridden.append(f'{name}.{cls_name}.{attr} '
                                          f'({base.__qualname__})')
    assert overridden == []
