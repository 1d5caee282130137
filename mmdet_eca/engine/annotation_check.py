"""Check a COCO annotation file's images, boxes and categories.

MMDetection's ``CocoDataset`` trusts its file: a NaN box or one of
negative width is dropped as "too small" without a word (NaN compares
False everywhere), and its image trains as background; an annotation of a
category the file does not list is dropped the same way; a file without
images fails later with NumPy's "need at least one array to concatenate".
:func:`summarize_coco` names the first such annotation (file, image and
annotation id) and reduces the rest to a few arrays, so that what
MMDetection does drop on purpose (ignored, tiny, outside the image, of
classes the config leaves out) can be reported as counts once the dataset
is built (:mod:`.coco_capture`).

Everything is vectorised over the annotations: at COCO-train scale
(118,287 images, 860,001 boxes) it adds a small part of the dataset's
own build time (``tools/analysis_tools/benchmark_annotations.py``).
"""
import json
from itertools import chain
from operator import itemgetter, methodcaller
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..errors import DataError

_EXPECTED_BOX = 'expected [x, y, width, height] in pixels'
NO_IMAGES = ("lists no images ('images' is empty): expected the annotations "
             'of the images to train or test on; check the ann_file the '
             'config names')
# the reasons MMDetection's CocoDataset.parse_data_info drops an
# annotation, in its order, and the annotations it never reads
DROP_REASONS = ('marked ignore', 'outside their image',
                'narrower or lower than 1 pixel or of area <= 0',
                "of categories not in the dataset's classes",
                'of images the file does not list')
_CATEGORY, _ORPHAN = 3, 4


class AnnotationSummary:
    """What :func:`summarize_coco` keeps of a file for the report.

    Attributes:
        path (str): The annotation file.
        num_images (int): Images it lists.
        category_ids (np.ndarray): Each annotation's category id.
        drop_reason (np.ndarray): Per annotation, the index in
            :data:`DROP_REASONS` of the reason MMDetection drops it for, -1
            if none (categories are known later).
        cat_ids (list | None): The categories the dataset's classes map to,
            once the dataset asked (:meth:`set_classes`).
    """

    def __init__(self, path: str, num_images: int, category_ids: np.ndarray,
                 drop_reason: np.ndarray, category_names: Dict) -> None:
        self.path = path
        self.num_images = num_images
        self.category_ids = category_ids
        self.drop_reason = drop_reason
        self.category_names = category_names
        self.cat_ids: Optional[List] = None

    def set_classes(self, classes: Sequence[str], cat_ids: List) -> None:
        """Record the dataset's classes and the categories they match.

        Raises:
            DataError: If no class is a category name of the file (its
                classes are another dataset's, e.g. COCO's by default).
        """
        self.cat_ids = list(cat_ids)
        if classes and not self.cat_ids:
            names = _shown(list(self.category_names.values()))
            raise DataError(
                f'annotation file {self.path}: none of the dataset\'s '
                f'{len(classes)} classes ({_shown(list(classes))}) is a '
                f'category name in it (its categories: {names}); set the '
                "dataset's metainfo=dict(classes=...) to its category names")

    def dropped(self) -> Dict[str, int]:
        """``{reason: count}`` of the annotations MMDetection leaves out."""
        reason = self.drop_reason.copy()
        if self.cat_ids is not None:
            other = ~np.isin(self.category_ids, self.cat_ids)
            reason[(reason < 0) & other] = _CATEGORY
        counts = np.bincount(reason[reason >= 0], minlength=len(DROP_REASONS))
        return {r: int(c) for r, c in zip(DROP_REASONS, counts) if c}


def _shown(values: List, limit: int = 4) -> str:
    shown = ', '.join(repr(v) for v in values[:limit])
    return shown + (', ...' if len(values) > limit else '') or 'none'


def _numbers(items: List[dict], key: str, default=None,
             dtype=np.float64) -> Optional[np.ndarray]:
    """``item[key]`` of every item as an array (``default`` where absent,
    if given); None if a value is missing or not a number.

    ``np.fromiter`` over ``map`` runs at C speed, where building an array
    from a list of lists or dicts costs microseconds per row: this is what
    keeps the check small beside the dataset's own load at COCO scale.
    """
    get = itemgetter(key) if default is None else methodcaller(
        'get', key, default)
    try:
        return np.fromiter(map(get, items), dtype=dtype, count=len(items))
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _is_box(box) -> bool:
    return isinstance(box, (list, tuple)) and len(box) == 4 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in box)


def _boxes(anns: List[dict], path: str, images: List[dict]) -> np.ndarray:
    """The ``bbox`` of every annotation as an ``(n, 4)`` float array."""
    try:
        boxes = list(map(itemgetter('bbox'), anns))
        if (np.fromiter(map(len, boxes), np.int64, len(boxes)) == 4).all():
            return np.fromiter(chain.from_iterable(boxes), np.float64,
                               4 * len(boxes)).reshape(-1, 4)
    except (KeyError, TypeError, ValueError):
        pass  # found below, one by one
    ann = next(a for a in anns if not _is_box(a.get('bbox')))
    what = f"has bbox {json.dumps(ann['bbox'])}" if 'bbox' in ann else \
        'has no bbox'
    raise DataError(f'{_where(path, ann, images)} {what}: expected 4 '
                    'numbers [x, y, width, height]')


def _where(path: str, ann: dict, images: List[dict]) -> str:
    image_id = ann.get('image_id')
    name = next((img.get('file_name') for img in images
                 if img.get('id') == image_id), None)
    shown = f' ({name})' if name else ''
    return (f'annotation file {path}: annotation {ann.get("id")} of image '
            f'{image_id}{shown}')


def _image_sizes(anns: List[dict], images: List[dict]):
    """Width, height of each annotation's image, NaN for an image the file
    does not list."""
    image_ids = _numbers(images, 'id', dtype=np.int64)
    owners = _numbers(anns, 'image_id', dtype=np.int64)
    width = _numbers(images, 'width', np.nan)
    height = _numbers(images, 'height', np.nan)
    if any(a is None for a in (image_ids, owners, width, height)):
        # ids that are not integers: look each one up
        sizes = {img.get('id'): (img.get('width'), img.get('height'))
                 for img in images}
        wh = np.array([sizes.get(a.get('image_id'), (np.nan, np.nan))
                       for a in anns], dtype=np.float64).reshape(-1, 2)
        return wh[:, 0], wh[:, 1]
    order = np.argsort(image_ids, kind='stable')
    position = np.searchsorted(image_ids[order], owners).clip(
        max=len(order) - 1)
    listed = image_ids[order][position] == owners
    index = order[position]
    return (np.where(listed, width[index], np.nan),
            np.where(listed, height[index], np.nan))


def _unknown_categories(anns: List[dict], ids: Optional[np.ndarray],
                        categories: Dict) -> np.ndarray:
    """Which annotations have a category id ``categories`` lacks (``ids``:
    their ids if all are integers)."""
    known = np.array(list(categories))
    if ids is not None and known.dtype.kind == 'i':
        return ~np.isin(ids, known)
    return np.array([a.get('category_id') not in categories for a in anns],
                    dtype=bool)


def _drop_reasons(boxes: np.ndarray, width: np.ndarray, height: np.ndarray,
                  area: np.ndarray, ignore: np.ndarray) -> np.ndarray:
    """MMDetection's ``parse_data_info`` filters, vectorised: the first
    reason each finite box is left out for, -1 if kept. An annotation of an
    unlisted image (NaN width) is never read."""
    x1, y1, w, h = boxes.T
    with np.errstate(invalid='ignore'):
        inter_w = np.maximum(0, np.minimum(x1 + w, width) - np.maximum(x1, 0))
        inter_h = np.maximum(0, np.minimum(y1 + h, height) -
                             np.maximum(y1, 0))
        outside = inter_w * inter_h == 0
        small = (area <= 0) | (w < 1) | (h < 1)
    reason = np.full(len(boxes), -1, dtype=np.int64)
    for index, mask in reversed(list(enumerate((ignore, outside, small)))):
        reason[mask] = index  # the earliest test wins, as in MMDetection
    reason[np.isnan(width)] = _ORPHAN
    return reason


def summarize_coco(data: dict, path: str) -> Optional[AnnotationSummary]:
    """Check a loaded COCO annotation file; reduce it for the report.

    Args:
        data (dict): The parsed file (``images``, ``annotations``,
            ``categories``).
        path (str): Its path, for messages.

    Returns:
        AnnotationSummary | None: Per-annotation categories and drop
        reasons; None for a file without COCO's lists (``images``, ...),
        which the format check names (:func:`.checks.coco_problem`).

    Raises:
        DataError: One line naming the file, and for an annotation its id
            and image, if the file lists no images, or an annotation has
            no 4-number bbox, a non-finite one, a negative width or height,
            or a category id the file's ``categories`` lack.
    """
    if 'images' not in data or not all(
            isinstance(data.get(key, []), list)
            for key in ('images', 'annotations', 'categories')):
        return None  # not COCO's layout: .checks.coco_problem says so
    images = data['images']
    if not images:
        raise DataError(f'annotation file {path} {NO_IMAGES}')
    anns = data.get('annotations') or []
    categories = {c.get('id'): c.get('name')
                  for c in data.get('categories') or []}
    boxes = _boxes(anns, path, images)
    category_ids = _numbers(anns, 'category_id', dtype=np.int64)
    with np.errstate(invalid='ignore'):
        problems = {
            'with a non-finite bbox': ~np.isfinite(boxes).all(axis=1),
            'with a negative width or height': (boxes[:, 2] < 0) |
            (boxes[:, 3] < 0),
            "with a category_id not in 'categories'":
            _unknown_categories(anns, category_ids, categories),
        }
    bad = np.zeros(len(anns), dtype=bool)
    for mask in problems.values():
        bad |= mask
    if bad.any():
        first = int(np.argmax(bad))
        raise DataError(_problem_line(path, anns[first], images, problems,
                                      first, categories))
    width, height = _image_sizes(anns, images)
    ignore = _numbers(anns, 'ignore', False, dtype=bool)
    if ignore is None:
        ignore = np.array([bool(a.get('ignore')) for a in anns], dtype=bool)
    area = _numbers(anns, 'area', 1.0)
    if area is None:  # MMDetection would fail on it; not this check's call
        area = np.ones(len(anns))
    reason = _drop_reasons(boxes, width, height, area, ignore)
    if category_ids is None:
        category_ids = np.array([a['category_id'] for a in anns])
    return AnnotationSummary(path, len(images), category_ids, reason,
                             categories)


def _problem_line(path: str, ann: dict, images: List[dict],
                  problems: Dict[str, np.ndarray], index: int,
                  categories: Dict) -> str:
    box = json.dumps(ann.get('bbox'))
    if problems['with a non-finite bbox'][index]:
        what = f'has bbox {box}, which is not finite ({_EXPECTED_BOX})'
        fix = 'fix or remove the annotation'
    elif problems['with a negative width or height'][index]:
        what = (f'has bbox {box}, of negative width or height '
                f'({_EXPECTED_BOX})')
        fix = 'fix or remove the annotation'
    else:
        what = (f'has category_id {json.dumps(ann.get("category_id"))}, '
                "which is not among the file's categories (ids "
                f'{_shown(list(categories), 6)})')
        fix = "add the category to 'categories' or fix the annotation"
    counts = [f'{int(mask.sum()):,} {name}'
              for name, mask in problems.items() if mask.any()]
    total = int(np.logical_or.reduce(list(problems.values())).sum())
    more = (f' ({total:,} annotations have problems: {", ".join(counts)})'
            if total > 1 else '')
    return f'{_where(path, ann, images)} {what}; {fix}{more}'
