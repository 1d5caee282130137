"""Replace files so that a crash leaves either the old or the new one.

A file is written under a temporary name in its destination folder,
flushed to disk, then renamed over the destination: ``os.replace`` within
one file system is atomic, so a reader (or a resumed run) never sees a
half-written file. The folder is synced too, so the rename itself survives
a power cut.
"""
import os
import os.path as osp


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: str) -> None:
    try:
        _fsync_path(folder)
    except OSError:  # file systems that cannot sync a folder
        pass


def commit_file(tmp_path: str, dst: str) -> None:
    """Flush ``tmp_path`` to disk and rename it to ``dst``.

    Args:
        tmp_path (str): A complete file in ``dst``'s folder.
        dst (str): Final name; an existing file is replaced.
    """
    _fsync_path(tmp_path)
    os.replace(tmp_path, dst)
    _fsync_dir(osp.dirname(osp.abspath(dst)))


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file.

    Args:
        path (str): Destination, e.g. a work dir's ``last_checkpoint``.
        text (str): The whole content.
    """
    tmp_path = f'{path}.tmp'
    with open(tmp_path, 'w', encoding='utf-8') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp_path, path)
    _fsync_dir(osp.dirname(osp.abspath(path)))
