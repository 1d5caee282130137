"""Write files so that a crash leaves either the old or the new one.

A file is written under a temporary name in its destination folder,
flushed to disk, then renamed over the destination: ``os.replace`` within
one file system is atomic, so a reader (or a resumed run) never sees a
half-written file. The folder is synced too, so the rename itself survives
a power cut. Every file this project writes goes through here.
"""
import os
import os.path as osp
import re
import secrets
from contextlib import contextmanager
from typing import IO, Iterator

_REMOTE = re.compile(r'^[\w+-]+://')


def is_remote(path) -> bool:
    """Whether ``path`` is a URL (``https://``, ``s3://``, ``open-mmlab://``
    ...) rather than a local file, which this project checks itself."""
    return isinstance(path, str) and bool(_REMOTE.match(path))


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


def temporary_path(dst: str, suffix: str = '.tmp') -> str:
    """Create an empty ``.<name>.<random><suffix>`` beside ``dst``; return
    it (a writer that picks the format by extension wants ``suffix`` to be
    ``dst``'s own, e.g. ``'.png'``).

    Unlike ``tempfile.mkstemp`` (always mode 0600) the file honours the
    umask, so once renamed it has the permissions of any file the user
    creates. The folder is created if missing.
    """
    folder = osp.dirname(osp.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    while True:
        path = osp.join(
            folder, f'.{osp.basename(dst)}.{secrets.token_hex(4)}{suffix}')
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o666))
            return path
        except FileExistsError:
            continue


def commit_file(tmp_path: str, dst: str, overwrite: bool = True) -> None:
    """Flush ``tmp_path`` to disk and rename it to ``dst``.

    Args:
        tmp_path (str): A complete file in ``dst``'s folder.
        dst (str): Final name.
        overwrite (bool): Replace an existing ``dst``. Defaults to True.

    Raises:
        FileExistsError: If ``dst`` exists and ``overwrite`` is False
            (``tmp_path`` is then left for the caller to remove).
    """
    _fsync_path(tmp_path)
    if overwrite:
        os.replace(tmp_path, dst)
    else:
        try:
            # unlike a rename, a hard link fails if dst appeared meanwhile
            os.link(tmp_path, dst)
        except FileExistsError:
            raise FileExistsError(f'{dst}: already exists') from None
        except OSError:  # a file system without hard links
            if osp.exists(dst):
                raise FileExistsError(f'{dst}: already exists') from None
            os.replace(tmp_path, dst)
        else:
            os.unlink(tmp_path)
    _fsync_dir(osp.dirname(osp.abspath(dst)))


@contextmanager
def atomic_path(dst: str) -> Iterator[str]:
    """A temporary path, with ``dst``'s extension, that becomes ``dst``
    when the block succeeds: for writers that take a file name
    (``cv2.imwrite``, ``savefig``, ``Config.dump``). If the block raises,
    ``dst`` is untouched and the temporary file is removed."""
    tmp = temporary_path(dst, osp.splitext(dst)[1] or '.tmp')
    try:
        yield tmp
        commit_file(tmp, dst)
    finally:
        if osp.exists(tmp):
            os.unlink(tmp)


@contextmanager
def atomic_write(dst: str, mode: str = 'wb',
                 overwrite: bool = True) -> Iterator[IO]:
    """Open a temporary file that becomes ``dst`` when the block succeeds.

    If the block raises, ``dst`` is untouched and the temporary file is
    removed.

    Args:
        dst (str): Destination path.
        mode (str): ``'wb'`` or ``'w'`` (UTF-8 text). Defaults to ``'wb'``.
        overwrite (bool): Replace an existing ``dst``. Defaults to True.

    Raises:
        FileExistsError: If ``dst`` exists and ``overwrite`` is False.
    """
    tmp = temporary_path(dst)
    try:
        encoding = None if 'b' in mode else 'utf-8'
        with open(tmp, mode, encoding=encoding) as f:
            yield f
            f.flush()
        commit_file(tmp, dst, overwrite)
    finally:
        if osp.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file."""
    with atomic_write(path, 'w') as f:
        f.write(text)
