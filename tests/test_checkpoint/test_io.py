"""Safe loading and atomic saving."""
import os
import pickle
import stat

import pytest
import torch

from mmdet_eca.checkpoint import (CheckpointError, load_checkpoint_file,
                                  save_checkpoint)

STATE = {'w': torch.arange(1000.)}


class _RunsCode:
    """Unpickling this would create a file: weights-only loading must not."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def _bad_file(kind, tmp_path):
    path = tmp_path / f'{kind}.pth'
    if kind == 'text':
        path.write_text('not a checkpoint\n')
    elif kind == 'empty':
        path.write_bytes(b'')
    elif kind in ('truncated-zip', 'truncated-legacy'):
        torch.save(STATE, path,
                   _use_new_zipfile_serialization=kind == 'truncated-zip')
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif kind == 'safetensors':
        path.write_bytes(b'\x10\x00\x00\x00\x00\x00\x00\x00{"a": 1}')
    return str(path)


@pytest.mark.parametrize('kind,message', [
    ('text', r'is not a PyTorch checkpoint \(torch.save file\)'),
    ('empty', 'is empty, expected a checkpoint file'),
    ('truncated-zip', r'is truncated or corrupted \(an interrupted '
     r'download\?\)'),
    ('truncated-legacy', 'is truncated or corrupted'),
    ('safetensors', 'is a safetensors file'),
])
def test_unreadable_files(kind, message, tmp_path):
    with pytest.raises(CheckpointError, match=message) as err:
        load_checkpoint_file(_bad_file(kind, tmp_path))
    assert '\n' not in str(err.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CheckpointError, match='no such file'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))
    with pytest.raises(CheckpointError, match='^is a folder, not a '
                       r'checkpoint file; it holds no checkpoint file \(.pth'):
        load_checkpoint_file(str(tmp_path))
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    with pytest.raises(CheckpointError, match='is a folder, not a checkpoint '
                       'file; give a checkpoint file in it, such as '
                       f'{tmp_path}/epoch_1.pth$'):
        load_checkpoint_file(str(tmp_path))


def test_code_in_a_file_is_never_run(tmp_path):
    marker = tmp_path / 'ran'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': STATE, 'x': _RunsCode(str(marker))}, path)
    with pytest.raises(CheckpointError, match=r'holds Python objects other '
                       r'than weights.*\((io|builtins).open\)') as err:
        load_checkpoint_file(str(path))
    assert not marker.exists()
    assert '\n' not in str(err.value)
    # a plain pickle is refused the same way
    with open(tmp_path / 'plain.pkl', 'wb') as f:
        pickle.dump([1, 2], f)
    with pytest.raises(CheckpointError, match='holds Python objects'):
        load_checkpoint_file(str(tmp_path / 'plain.pkl'))


@pytest.mark.parametrize('legacy', [False, True])
def test_loads_both_torch_save_formats(legacy, tmp_path):
    path = tmp_path / 'ok.pth'
    torch.save({'state_dict': STATE, 'epoch': 3}, path,
               _use_new_zipfile_serialization=not legacy)
    loaded = load_checkpoint_file(str(path))
    assert loaded['epoch'] == 3
    assert torch.equal(loaded['state_dict']['w'], STATE['w'])


def test_save_creates_folders_and_leaves_no_temporary_file(tmp_path):
    dst = tmp_path / 'a' / 'b' / 'out.pth'
    umask = os.umask(0o022)
    try:
        save_checkpoint({'state_dict': STATE}, str(dst))
    finally:
        os.umask(umask)
    assert os.listdir(dst.parent) == ['out.pth']
    # the umask's permissions, not a temporary file's private 0600
    assert stat.S_IMODE(os.stat(dst).st_mode) == 0o644
    assert torch.equal(
        torch.load(dst, weights_only=True)['state_dict']['w'], STATE['w'])


def test_save_refuses_to_overwrite_without_force(tmp_path):
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'old')
    with pytest.raises(FileExistsError, match='already exists'):
        save_checkpoint({'state_dict': STATE}, str(dst))
    assert dst.read_bytes() == b'old'
    save_checkpoint({'state_dict': STATE}, str(dst), force=True)
    assert 'w' in torch.load(dst, weights_only=True)['state_dict']
    assert os.listdir(tmp_path) == ['out.pth']
    with pytest.raises(IsADirectoryError):
        save_checkpoint({'state_dict': STATE}, str(tmp_path), force=True)


def test_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):

    def broken_save(obj, f):
        f.write(b'partial')
        raise OSError('disk full')

    monkeypatch.setattr(torch, 'save', broken_save)
    with pytest.raises(OSError, match='disk full'):
        save_checkpoint({'state_dict': STATE}, str(tmp_path / 'out.pth'))
    assert os.listdir(tmp_path) == []
