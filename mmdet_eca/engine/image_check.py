"""Check the images a built dataset lists before the first iteration.

Otherwise a missing or unreadable image stops training when a data loader
worker reaches it, possibly hours in, with the worker's traceback.
"""
from typing import List, Optional

import cv2
import numpy as np

from ..errors import DataError
from ..fileio import is_remote


# Leading bytes of the formats OpenCV reads that datasets use; a file that
# starts otherwise is decoded to find out.
_IMAGE_SIGNATURES = (b'\xff\xd8\xff', b'\x89PNG\r\n\x1a\n', b'BM', b'GIF8',
                     b'II*\x00', b'MM\x00*', b'RIFF')


def image_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be loaded as an image, or None.

    Reads the first bytes only, unless the file starts like none of the
    usual formats; then it is decoded. A truncated file of a known format
    passes (the loader then names it, see :func:`.errors.error_line`).
    """
    try:
        with open(path, 'rb') as f:
            head = f.read(16)
            if not head:
                return 'is empty'
            if head.startswith(_IMAGE_SIGNATURES):
                return None
            data = head + f.read()
    except FileNotFoundError:
        return 'not found'
    except IsADirectoryError:
        return 'is a folder'
    except OSError as err:
        return f'cannot be read ({err.strerror})'
    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) \
            is None:
        return 'is not an image (it does not decode)'
    return None


def _image_paths(dataset) -> List[str]:
    if not getattr(dataset, '_fully_initialized', True) or not hasattr(
            dataset, 'get_data_info'):
        return []
    paths = {}
    for i in range(len(dataset)):
        path = dataset.get_data_info(i).get('img_path')
        if isinstance(path, str) and not is_remote(path):
            paths[path] = None  # ordered and without repeats
    return list(paths)


def check_images(dataset) -> None:
    """Raise :class:`DataError` if an image the built ``dataset`` lists is
    missing, empty or unreadable (remote paths are not checked).

    Args:
        dataset: A built dataset (MMEngine ``BaseDataset`` or a wrapper).
    """
    paths = _image_paths(dataset)
    bad = [(p, problem) for p in paths
           for problem in [image_problem(p)] if problem]
    if not bad:
        return
    path, problem = bad[0]
    source = getattr(dataset, 'ann_file', None)
    listed = f', listed in {source}' if source else ''
    more = f'; {len(bad)} of {len(paths)} listed images have problems' \
        if len(bad) > 1 else ''
    raise DataError(f'image {path} {problem}{listed}{more}')
