"""mmdet_eca.fileio: a file appears whole or not at all."""
import os

import pytest

from mmdet_eca.fileio import atomic_path, write_text_atomic


def test_atomic_path_keeps_the_extension_and_renames(tmp_path):
    dst = tmp_path / 'sub' / 'picture.png'
    with atomic_path(str(dst)) as tmp:
        # writers that choose the format by extension see dst's
        assert tmp.endswith('.png') and os.path.dirname(tmp) == str(dst.parent)
        with open(tmp, 'wb') as f:
            f.write(b'new')
        assert not dst.exists()
    assert dst.read_bytes() == b'new'
    assert os.listdir(dst.parent) == ['picture.png']


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    dst = tmp_path / 'results.json'
    write_text_atomic(str(dst), 'old')
    with pytest.raises(RuntimeError):
        with atomic_path(str(dst)) as tmp:
            with open(tmp, 'w') as f:
                f.write('half')
            raise RuntimeError('killed mid-write')
    assert dst.read_text() == 'old'
    assert os.listdir(tmp_path) == ['results.json']
