"""Weights-only loading reads what MMEngine saves once mmdet_eca is
imported, and still refuses any other pickled global: torch's own
``torch.load(weights_only=True)`` (MMEngine's plain ``torch.load`` since
torch 2.6) and, on every torch, ``compat.load_weights_only``, which the
project's checked loading uses."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

import mmdet_eca  # noqa: F401  (allow-lists the checkpoint globals)
from mmdet_eca.compat import TORCH_VERSION, load_weights_only
from mmdet_eca.engine import read_checkpoint
from mmdet_eca.errors import CheckpointError
from mmdet_eca.engine.safe_load import history_buffer_method

# Everything beyond torch's own types that a detector checkpoint written by
# tools/train.py holds, as torch names them: the allow-list's reason to be.
CHECKPOINT_GLOBALS = {
    'builtins.getattr', 'mmengine.logging.history_buffer.HistoryBuffer',
    'numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar',
    'numpy.dtype', 'numpy.ndarray'
}


class RunsCode:
    """Unpickling this runs a shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class GetattrOf:
    """Pickles as getattr(owner, name)."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


@pytest.mark.skipif(
    TORCH_VERSION < (2, 6),
    reason='torch < 2.6 lists no unsafe globals and its torch.load is not '
    'weights-only by default')
def test_a_trained_checkpoint_loads_with_torch_load(straight_run):
    path = straight_run / 'epoch_2.pth'
    allowed = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()  # else they count as safe
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    finally:
        torch.serialization.add_safe_globals(allowed)
    assert set(found) == CHECKPOINT_GLOBALS
    # MMEngine's own call when it resumes
    assert torch.load(path, map_location='cpu')['meta']


def test_a_trained_checkpoint_loads_weights_only(straight_run):
    checkpoint = load_weights_only(straight_run / 'epoch_2.pth')
    meta = checkpoint['meta']
    assert meta['dataset_meta']['classes'] == ('circle', 'rectangle',
                                               'triangle')
    hub = checkpoint['message_hub']
    assert isinstance(hub['log_scalars']['train/loss'], HistoryBuffer)
    assert np.isfinite(hub['log_scalars']['train/loss'].mean())
    assert isinstance(hub['runtime_info']['eta'], np.floating)
    # the demo's warm-up and cosine schedule, as MMEngine saved them
    assert [s['last_step'] for s in checkpoint['param_schedulers']] == [4, 4]


def test_a_pickle_that_runs_code_is_refused(straight_run, tmp_path):
    marker = tmp_path / 'code-ran'
    checkpoint = load_weights_only(straight_run / 'epoch_1.pth')
    checkpoint['message_hub'] = RunsCode(marker)
    path = tmp_path / 'evil.pth'
    torch.save(checkpoint, path)
    with pytest.raises(pickle.UnpicklingError, match='posix.system'):
        load_weights_only(path)
    with pytest.raises(CheckpointError) as error:
        read_checkpoint(str(path))
    assert str(error.value).startswith(
        f'{path}: holds Python objects other than weights, which '
        'weights-only loading refuses to run')
    assert not marker.exists()


@pytest.mark.parametrize('name', ['__init__', 'register_statistics',
                                  '_statistics_methods'])
def test_getattr_reaches_only_the_statistics_methods(tmp_path, name):
    path = tmp_path / 'getattr.pth'
    torch.save({'method': GetattrOf(HistoryBuffer, 'mean')}, path)
    assert load_weights_only(path)['method'] is HistoryBuffer.mean
    torch.save({'method': GetattrOf(HistoryBuffer, name)}, path)
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        load_weights_only(path)
    with pytest.raises(pickle.UnpicklingError):
        history_buffer_method(np.ndarray, 'mean')


def test_object_arrays_are_refused(tmp_path):
    path = tmp_path / 'objects.pth'
    torch.save({'ok': np.arange(3, dtype=np.uint8)}, path)
    assert load_weights_only(path)['ok'].tolist() == [0, 1, 2]
    torch.save({'objects': np.array([{'a': 1}], dtype=object)}, path)
    with pytest.raises(pickle.UnpicklingError):
        load_weights_only(path)


def test_numpy_1_and_2_checkpoints_load(tmp_path):
    # numpy 1 pickles its arrays as numpy.core.multiarray._reconstruct,
    # numpy 2 as numpy._core.multiarray._reconstruct;
    # in the legacy (non-zip) format the global's name is plain text
    path = tmp_path / 'numpy1.pth'
    buffer = HistoryBuffer()
    buffer.update(2.5)
    torch.save({'buffer': buffer, 'eta': np.float64(1.5)},
               path,
               _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    # written as this numpy names its module; the other name loads too
    this, other = b'numpy._core.multiarray', b'numpy.core.multiarray'
    if this not in data:
        this, other = other, this
    assert this in data
    for name in (this, other):
        path.write_bytes(data.replace(this, name))
        loaded = load_weights_only(path)
        assert loaded['buffer'].current() == 2.5 and loaded['eta'] == 1.5
