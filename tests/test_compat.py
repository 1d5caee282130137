"""The compatibility layer answers alike on the oldest and the newest torch.

Run by ``make test`` (the pinned torch) and by ``make test-oldest-torch``
(torch 2.1), so each branch of :mod:`mmdet_eca.compat` is exercised where
it applies.
"""
import io
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from mmdet_eca import compat
from mmdet_eca.layers.eca_scale import is_recording


def test_torch_version_is_the_running_one():
    major, minor = torch.__version__.split('.')[:2]
    assert compat.TORCH_VERSION == (int(major), int(minor))
    assert compat.ONNX_EXPORT_HAS_DYNAMO == (compat.TORCH_VERSION >= (2, 5))


def test_tracers_are_detected():
    x = torch.zeros(1)
    assert not is_recording()
    seen = []

    def f(t):
        seen.append(is_recording())
        return t + 1

    torch.jit.trace(f, x, check_trace=False)
    torch.fx.symbolic_trace(f)
    assert seen == [True, True]
    assert not is_recording()


COMPILING = """
import torch
from mmdet_eca import compat
seen = []

def f(t):
    seen.append(compat.is_compiling())
    return t + 1

assert not compat.is_compiling()
# The eager backend traces with dynamo but compiles nothing: quick.
torch.compile(f, backend='eager')(torch.zeros(2))
assert seen and all(seen), seen
assert not compat.is_compiling()
print('ok')
"""


def test_compiling_is_detected():
    # In a process of its own: on torch 2.1 importing dynamo rewraps every
    # optimizer's step, and step pre-hooks (the lr tests' recorder) then
    # never run in this process.
    proc = subprocess.run([sys.executable, '-c', COMPILING],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr


def test_onnx_export_is_detected():
    pytest.importorskip('onnx')
    seen = []

    class Probe(nn.Module):

        def forward(self, t):
            seen.append(compat.is_onnx_exporting())
            return t + 1

    assert not compat.is_onnx_exporting()
    with io.BytesIO() as f:
        compat.onnx_export(Probe(), (torch.zeros(1), ), f, dynamo=False)
    assert seen and all(seen)
    assert not compat.is_onnx_exporting()


@pytest.mark.skipif(compat.ONNX_EXPORT_HAS_DYNAMO,
                    reason='this torch has the dynamo exporter')
def test_dynamo_export_on_old_torch_is_refused_in_one_line(tmp_path):
    with pytest.raises(RuntimeError, match=r'needs torch >= 2\.5'):
        compat.onnx_export(nn.Identity(), (torch.zeros(1), ),
                           str(tmp_path / 'x.onnx'), dynamo=True)
    assert not (tmp_path / 'x.onnx').exists()


def test_safe_globals_where_torch_has_an_allow_list():
    has_list = hasattr(torch.serialization, 'add_safe_globals')

    class Marker:
        pass

    assert compat.add_safe_globals([Marker]) is has_list
    if has_list:
        assert Marker in torch.serialization.get_safe_globals()


def test_config_package_registration():
    from mmengine.config import utils
    compat.register_config_package('mmdet_eca_probe', 'mmdet-eca-probe')
    try:
        assert utils.MODULE2PACKAGE['mmdet_eca_probe'] == 'mmdet-eca-probe'
        # an existing entry is kept
        compat.register_config_package('mmdet', 'elsewhere')
        assert utils.MODULE2PACKAGE['mmdet'] == 'mmdet'
    finally:
        utils.MODULE2PACKAGE.pop('mmdet_eca_probe')


def test_state_dict_hooks():
    # the public names of newer torch, the private ones of torch 2.1
    module, seen = nn.Linear(1, 1), []
    compat.register_state_dict_post_hook(
        module, lambda m, sd, prefix, meta: meta.update(probe=prefix))
    compat.register_load_state_dict_pre_hook(
        module, lambda m, sd, prefix, meta, *rest: seen.append((m, prefix)))
    state = nn.Sequential(module).state_dict()
    assert state._metadata['0']['probe'] == '0.'
    nn.Sequential(module).load_state_dict(state)
    assert seen == [(module, '0.')]
