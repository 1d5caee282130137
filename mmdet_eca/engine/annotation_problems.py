"""What in a COCO annotation file cannot be what its author meant.

MMDetection's ``CocoDataset`` trusts its file, and each of these either
trains without a word or fails far from its cause:

* two images with one ``id``: pycocotools keeps the last of them, and the
  annotations of both go to it;
* an annotation whose ``image_id`` is not among the file's ``images``: it
  is never read;
* a ``bbox`` or ``area`` that is not numbers (``["3", "3", "10", "10"]``):
  ``'<' not supported between instances of 'int' and 'str'``, deep in the
  dataset's build;
* a NaN box or one of negative width: dropped as "too small" (NaN compares
  False everywhere), and its image trains as background;
* a segmentation polygon of fewer than 3 points (or of an odd count of
  numbers): dropped, and an instance left without a polygon is ignored;
* a ``category_id`` the file's ``categories`` lack: dropped.

:func:`annotation_problems` finds every such annotation in a few passes at
C speed; :mod:`.annotation_messages` names them.
"""
from array import array
from itertools import chain, compress, repeat
from operator import itemgetter
from typing import Dict, List, NamedTuple, Optional

import numpy as np

# what can be wrong with an annotation, in the order its first problem is
# named; the phrases count them
PROBLEMS = {
    'bbox': 'without 4 numbers as bbox',
    'finite': 'with a non-finite bbox',
    'negative': 'with a negative width or height',
    'area': 'without a number as area',
    'polygon': 'with a polygon of fewer than 3 points',
    'category': "with a category_id not in 'categories'",
    'image': "of an image_id not in 'images'",
}


def numbers(items: List[dict], key: str, default=None,
            typecode: str = 'd') -> Optional[np.ndarray]:
    """``item[key]`` of every item as an array (``default`` where absent,
    if given); None if a value is missing or not a number.

    ``array.array`` over ``map`` converts at C speed, where building an
    array from a list of dicts costs microseconds a row; unlike
    ``np.fromiter`` it refuses a string ("3") or null instead of converting
    it. ``map(dict.get, ...)`` reads a field at half the cost of
    ``methodcaller('get', ...)``.

    Args:
        items (list[dict]): Images or annotations.
        key (str): The field.
        default: The value where the field is absent; None to require it.
        typecode (str): ``'d'`` for float64, ``'q'`` for int64 (which
            refuses floats as well). Defaults to ``'d'``.
    """
    values = map(itemgetter(key), items) if default is None else map(
        dict.get, items, repeat(key), repeat(default))
    try:
        return np.frombuffer(array(typecode, values),
                             np.float64 if typecode == 'd' else np.int64)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _as_box(box) -> Optional[array]:
    if isinstance(box, (list, tuple)) and len(box) == 4:
        try:
            return array('d', box)
        except (TypeError, OverflowError):
            pass
    return None


def boxes_of(anns: List[dict]):
    """Every annotation's ``bbox`` as an ``(n, 4)`` float array (NaN where
    it is not 4 numbers) and which those are.

    Args:
        anns (list[dict]): The file's annotations.
    """
    try:
        boxes = list(map(itemgetter('bbox'), anns))
        if (np.fromiter(map(len, boxes), np.int64, len(boxes)) == 4).all():
            return (np.frombuffer(array('d', chain.from_iterable(boxes)))
                    .reshape(-1, 4), np.zeros(len(anns), dtype=bool))
    except (KeyError, TypeError, ValueError, OverflowError):
        pass  # found one by one below
    parsed = [_as_box(a.get('bbox')) for a in anns]
    return (np.array([(np.nan, ) * 4 if b is None else b for b in parsed],
                     dtype=np.float64).reshape(-1, 4),
            np.array([b is None for b in parsed], dtype=bool))


def _areas(anns: List[dict]):
    """Every annotation's ``area`` (NaN where it is not a number) and
    which those are."""
    area = numbers(anns, 'area')
    if area is not None:
        return area, np.zeros(len(anns), dtype=bool)
    area = [numbers([a], 'area') for a in anns]
    return (np.array([np.nan if a is None else a[0] for a in area]),
            np.array([a is None for a in area], dtype=bool))


def is_polygon(polygon) -> bool:
    """Whether ``polygon`` is a list of at least 3 points (an even count of
    at least 6 numbers), as MMDetection's ``LoadAnnotations`` keeps it."""
    return isinstance(polygon, list) and len(polygon) >= 6 and \
        len(polygon) % 2 == 0


def _polygon_problems(anns: List[dict]) -> np.ndarray:
    """Which annotations have polygons (a list as ``segmentation``; RLE is
    a dict) of which one is not a list of at least 3 points."""
    segments = list(map(dict.get, anns, repeat('segmentation')))
    try:
        # list.__len__ refuses anything but a list
        lengths = np.fromiter(map(list.__len__, chain.from_iterable(compress(
            segments, map(isinstance, segments, repeat(list))))), np.int64)
        if ((lengths >= 6) & (lengths % 2 == 0)).all():
            return np.zeros(len(anns), dtype=bool)
    except TypeError:
        pass  # found one by one below
    return np.array([
        isinstance(s, list) and not all(map(is_polygon, s))
        for s in segments
    ], dtype=bool)


def category_ids_of(anns: List[dict]) -> np.ndarray:
    """Every annotation's ``category_id`` (int64 if all are integers).

    Args:
        anns (list[dict]): The file's annotations.
    """
    ids = numbers(anns, 'category_id', typecode='q')
    return np.array([a.get('category_id') for a in anns]) if ids is None \
        else ids


def _unknown_categories(anns: List[dict], ids: np.ndarray,
                        categories: Dict) -> np.ndarray:
    known = np.array(list(categories))
    if ids.dtype.kind == 'i' and known.dtype.kind == 'i':
        return ~np.isin(ids, known)
    return np.array([a.get('category_id') not in categories for a in anns],
                    dtype=bool)


def image_index(anns: List[dict], images: List[dict]) -> np.ndarray:
    """Per annotation, the index in ``images`` of its image, -1 if the file
    lists none of its ``image_id``.

    Args:
        anns (list[dict]): The file's annotations.
        images (list[dict]): Its images, each id once.
    """
    image_ids = numbers(images, 'id', typecode='q')
    owners = numbers(anns, 'image_id', typecode='q')
    if image_ids is None or owners is None or not len(image_ids):
        # ids that are not integers: look each one up
        position = {img.get('id'): i for i, img in enumerate(images)}
        return np.array([position.get(a.get('image_id'), -1) for a in anns],
                        dtype=np.int64)
    if image_ids.min() >= 0 and image_ids.max() < 16 * len(images) + 2**20:
        # ids about as many as the images (COCO's go to 5x): a lookup table
        table = np.full(int(image_ids.max()) + 2, -1, dtype=np.int64)
        table[image_ids] = np.arange(len(image_ids))
        return table[owners.clip(-1, len(table) - 1)]
    order = np.argsort(image_ids, kind='stable')
    index = order[np.searchsorted(image_ids[order], owners).clip(
        max=len(order) - 1)]
    return np.where(image_ids[index] == owners, index, -1)


class Annotations(NamedTuple):
    """The fields of a file's annotations the check reads, as arrays."""
    boxes: np.ndarray  # (n, 4), NaN where not 4 numbers
    area: np.ndarray  # NaN where not a number
    category_ids: np.ndarray
    problems: Dict[str, np.ndarray]  # {kind in PROBLEMS: mask}


def annotation_problems(anns: List[dict], categories: Dict,
                        index: np.ndarray) -> Annotations:
    """Find every annotation that cannot be what the file's author meant.

    Args:
        anns (list[dict]): The file's annotations.
        categories (dict): Its categories, ``{id: name}``.
        index (np.ndarray): Each annotation's image (:func:`image_index`).

    Returns:
        Annotations: The fields read, and one boolean array over the
        annotations for each kind of problem in :data:`PROBLEMS`.
    """
    boxes, not_boxes = boxes_of(anns)
    area, not_area = _areas(anns)
    category_ids = category_ids_of(anns)
    with np.errstate(invalid='ignore'):
        problems = {
            'bbox': not_boxes,
            'finite': ~np.isfinite(boxes).all(axis=1) & ~not_boxes,
            'negative': (boxes[:, 2] < 0) | (boxes[:, 3] < 0),
            'area': not_area,
            'polygon': _polygon_problems(anns),
            'category': _unknown_categories(anns, category_ids, categories),
            'image': index < 0,
        }
    return Annotations(boxes, area, category_ids, problems)
