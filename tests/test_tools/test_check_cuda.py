"""tools/check_cuda.py: its CPU self-test on tiny models.

On the CPU the numbers mean nothing; what is checked is that the one
script to run on a GPU goes end to end (every form against the paper's,
Mask R-CNN training steps, the timing table) and ends with its verdict,
and that a form which differs from the paper's fails it.
"""
import pytest

from mmdet_eca.compat import cpu_autocast_supported
from tool_modules import load_tool


@pytest.fixture(scope='module')
def check_cuda():
    return load_tool('check_cuda')


def test_quick_run_passes(check_cuda, capsys):
    code = check_cuda.main(['--quick', '--device', 'cpu', '--families',
                            'resnet50', 'neck', 'mobilenetv2', '--steps',
                            '1'])
    out = capsys.readouterr().out
    assert code == 0, out
    # float16 autocast on the CPU needs a newer torch than 2.1
    precisions = sum(
        dtype is None or cpu_autocast_supported(dtype)
        for dtype in check_cuda.PRECISIONS.values())
    checks = 3 * precisions * 2 * 3  # families, layouts, modes
    assert f'forms: {checks} of {checks} checks passed' in out
    assert '| neck | eval | 1 | 64x64 |' in out
    assert out.strip().splitlines()[-1].startswith('check_cuda: OK on CPU')


def test_a_form_that_differs_fails(check_cuda, capsys, monkeypatch):
    from mmdet_eca.layers import eca_scale
    original = eca_scale._KeepNormInput.backward

    def off_by_a_little(ctx, grad):
        grads = list(original(ctx, grad))
        grads[1] = grads[1] * 1.01  # the gate's gradient 1% off
        return tuple(grads)

    monkeypatch.setattr(eca_scale._KeepNormInput, 'backward',
                        staticmethod(off_by_a_little))
    code = check_cuda.main(['--quick', '--device', 'cpu', '--families',
                            'resnet18', '--steps', '1', '--skip-timing'])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 1
    assert last.startswith('check_cuda: FAILED on CPU: 4 failures, first: '
                           'resnet18 fp32 contiguous frozen_bn')
