"""tools/convert_eca_weights.py: output, exit status, one-line errors."""
import os
import runpy
import subprocess
import sys

import pytest
import torch

from reference_models import official_checkpoint
from test_checkpoint.sources import (official_file, official_mobilenet_v2,
                                     plain_resnet_state_dict, save,
                                     timm_resnet_d)

from tool_modules import load_tool
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
TOOL = os.path.join(ROOT, 'tools', 'convert_eca_weights.py')

cli = load_tool('convert_eca_weights')


@pytest.fixture(scope='module')
def official(tmp_path_factory):
    folder = tmp_path_factory.mktemp('src')
    return official_file(folder / 'eca_resnet50_k3557.pth.tar', depth=50)


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_official_resnet(official, tmp_path, capsys):
    dst = str(tmp_path / 'checkpoints' / 'eca_resnet50_k3557_mmdet.pth')
    code, out, err = run([official, dst], capsys)
    assert code == 0 and err == ''
    assert 'official ECA-Net release' in out
    assert 'ECAResNet, depth 50 (Bottleneck, blocks 3-4-6-3)' in out
    assert 'kernel sizes  3557 (layer1..layer4)' in out
    assert 'tensors       334 kept, 2 dropped (fc.weight, fc.bias)' in out
    assert f'wrote {dst}' in out
    assert ("backbone=dict(type='ECAResNet', depth=50, eca_kernel_sizes="
            "'3557', init_cfg=dict(type='Pretrained', checkpoint="
            f"'{dst}'))") in out
    assert torch.load(dst, weights_only=True)['meta']['depth'] == 50


def test_timm_and_mobilenet(tmp_path, capsys):
    src = save(timm_resnet_d(50).state_dict(), tmp_path / 'ecaresnet50d.pth')
    code, out, _ = run([src, str(tmp_path / 'timm.pth')], capsys)
    assert code == 0
    assert 'timm ECA-ResNet-D' in out
    assert "type='ECAResNetV1d', depth=50, eca_kernel_sizes='5557'" in out

    src = save(official_checkpoint(official_mobilenet_v2()),
               tmp_path / 'eca_mobilenetv2_k13.pth.tar')
    code, out, _ = run([src, str(tmp_path / 'mbv2.pth')], capsys)
    assert code == 0
    assert "type='ECAMobileNetV2', eca_kernel_sizes='1111333'" in out
    assert 'neck=dict(in_channels=[24, 32, 96, 1280])' in out


def test_no_destination_only_reports(official, capsys):
    before = set(os.listdir(os.path.dirname(official)))
    code, out, _ = run([official], capsys)
    assert code == 0
    assert 'wrote' not in out and f"checkpoint='{official}'" in out
    assert set(os.listdir(os.path.dirname(official))) == before


def test_converted_file_is_reported_not_rewritten(official, tmp_path,
                                                   capsys):
    converted = str(tmp_path / 'converted.pth')
    assert run([official, converted], capsys)[0] == 0
    code, out, _ = run([converted, str(tmp_path / 'again.pth')], capsys)
    assert code == 0
    assert 'already converted' in out and 'nothing written' in out
    assert not (tmp_path / 'again.pth').exists()


def _bad_source(kind, tmp_path):
    path = tmp_path / f'{kind}.pth'
    if kind == 'text':
        path.write_text('<html>not found</html>')
    elif kind == 'truncated':
        torch.save({'state_dict': {'w': torch.zeros(1000)}}, path)
        path.write_bytes(path.read_bytes()[:500])
    elif kind == 'plain-resnet':
        torch.save({'state_dict': plain_resnet_state_dict(18)}, path)
    elif kind == 'random-dict':
        torch.save({'anything': torch.zeros(2)}, path)
    elif kind == 'missing':
        pass
    return str(path)


@pytest.mark.parametrize('kind,message', [
    ('text', 'is not a PyTorch checkpoint'),
    ('truncated', 'is truncated or corrupted'),
    ('plain-resnet', 'has no ECA weights'),
    ('random-dict', 'is not an ECA-Net checkpoint'),
    ('missing', 'no such file'),
])
def test_bad_input_one_line_nonzero_no_output(kind, message, tmp_path,
                                              capsys):
    src = _bad_source(kind, tmp_path)
    dst = tmp_path / 'out' / 'converted.pth'
    code, out, err = run([src, str(dst)], capsys)
    assert code == 1 and out == ''
    assert err.count('\n') == 1
    assert err.startswith(f'error: {src}: ') and message in err
    assert not dst.exists() and not dst.parent.exists()


def test_existing_destination_and_force(official, tmp_path, capsys):
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'keep')
    code, out, err = run([official, str(dst)], capsys)
    assert code == 1 and out == ''
    assert err == f'error: {dst}: already exists (overwrite it with ' \
        '--force)\n'
    assert dst.read_bytes() == b'keep'
    code, out, err = run([official, str(dst), '--force'], capsys)
    assert code == 0 and f'wrote {dst}' in out
    assert torch.load(dst, weights_only=True)['meta']['depth'] == 50


def test_debug_shows_the_traceback(tmp_path, capsys):
    src = _bad_source('text', tmp_path)
    code, _, err = run([src, str(tmp_path / 'o.pth'), '--debug'], capsys)
    assert code == 1
    assert 'Traceback' in err and 'CheckpointError' in err
    assert err.splitlines()[-1].startswith(f'error: {src}: ')


def test_help_as_a_script():
    # --help must not wait for mmdet: the tool imports it after parsing
    done = subprocess.run([sys.executable, TOOL, '--help'],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0
    for flag in ('--force', '--debug', 'src', 'dst', 'examples:'):
        assert flag in done.stdout


def test_exit_status_as_a_script(tmp_path, monkeypatch, capsys):
    # the script's own entry point, in this process (a new interpreter
    # would spend seconds importing mmdet again)
    bad = tmp_path / 'bad.pth'
    bad.write_text('nope')
    monkeypatch.setattr(sys, 'argv', [TOOL, str(bad), str(tmp_path / 'o')])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(TOOL, run_name='__main__')
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        f'error: {bad}: is not a PyTorch checkpoint (torch.save file); '
        'expected e.g. a .pth or .pth.tar\n')
    assert not (tmp_path / 'o').exists()
