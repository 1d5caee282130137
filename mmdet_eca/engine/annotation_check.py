"""Check a COCO annotation file; count what MMDetection leaves out of it.

:func:`summarize_coco` refuses, in one line naming the file, the annotation
and its image, what cannot be what the file's author meant (found by
:mod:`.annotation_problems`, worded by :mod:`.annotation_messages`:
repeated image ids, annotations of images the file does not list, boxes or
areas that are not numbers, NaN or negative boxes, polygons of fewer than 3
points, unknown categories) and a file
without images (which fails later with NumPy's "need at least one array to
concatenate"). It reduces the rest to a few arrays, so that what
MMDetection drops on purpose (ignored, outside the image, tiny, of classes
the config leaves out, crowd) can be reported as counts once the dataset is
built (:mod:`.coco_capture`).

Everything is vectorised over the annotations: at COCO-train scale
(118,287 images, 860,001 boxes) it adds a small part of the dataset's
own build time (``tools/benchmark_annotations.py``).
"""
from itertools import repeat
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..errors import DataError
from .annotation_messages import problem_line, repeated_image_line, shown
from .annotation_problems import annotation_problems, image_index, numbers

NO_IMAGES = ("lists no images ('images' is empty): expected the annotations "
             'of the images to train or test on; check the ann_file the '
             'config names')
# why MMDetection's CocoDataset.parse_data_info leaves an annotation out,
# in its order; a crowd annotation that passes its filters is kept as an
# ignored region (PackDetInputs' ignored_instances), not as an object
DROP_REASONS = ('marked ignore', 'outside their image',
                'narrower or lower than 1 pixel or of area <= 0',
                "of categories not in the dataset's classes",
                'crowd (iscrowd), kept as ignored regions')
_CATEGORY, _CROWD = 3, 4


class AnnotationSummary:
    """What :func:`summarize_coco` keeps of a file for the report.

    Attributes:
        path (str): The annotation file.
        num_images (int): Images it lists.
        category_ids (np.ndarray): Each annotation's category id.
        drop_reason (np.ndarray): Per annotation, the index in
            :data:`DROP_REASONS` of the reason MMDetection drops it for, -1
            if none (categories are known later).
        crowd (np.ndarray): Which annotations are crowd regions.
        category_names (dict): The file's categories, ``{id: name}``.
        cat_ids (list | None): The categories the dataset's classes map to,
            once the dataset asked (:meth:`set_classes`).
    """

    def __init__(self, path: str, num_images: int, category_ids: np.ndarray,
                 drop_reason: np.ndarray, crowd: np.ndarray,
                 category_names: Dict) -> None:
        self.path = path
        self.num_images = num_images
        self.category_ids = category_ids
        self.drop_reason = drop_reason
        self.crowd = crowd
        self.category_names = category_names
        self.cat_ids: Optional[List] = None

    def set_classes(self, classes: Sequence[str], cat_ids: List) -> None:
        """Record the dataset's classes and the categories they match.

        Args:
            classes (Sequence[str]): The dataset's classes.
            cat_ids (list): The file's categories of those names.

        Raises:
            DataError: If no class is a category name of the file (its
                classes are another dataset's, e.g. COCO's by default).
        """
        self.cat_ids = list(cat_ids)
        if classes and not self.cat_ids:
            names = shown(list(self.category_names.values()))
            raise DataError(
                f'annotation file {self.path}: none of the dataset\'s '
                f'{len(classes)} classes ({shown(list(classes))}) is a '
                f'category name in it (its categories: {names}); set the '
                "dataset's metainfo=dict(classes=...) to its category names")

    def dropped(self) -> Dict[str, int]:
        """``{reason: count}`` of the annotations MMDetection leaves out."""
        reason = self.drop_reason.copy()
        if self.cat_ids is not None:
            other = ~np.isin(self.category_ids, self.cat_ids)
            reason[(reason < 0) & other] = _CATEGORY
        reason[(reason < 0) & self.crowd] = _CROWD
        counts = np.bincount(reason[reason >= 0], minlength=len(DROP_REASONS))
        return {r: int(c) for r, c in zip(DROP_REASONS, counts) if c}


def _flags(anns: List[dict], key: str) -> np.ndarray:
    """Whether each annotation's ``key`` is set (truthy), as MMDetection's
    ``ann.get(key, False)`` reads it."""
    return np.fromiter(map(bool, map(dict.get, anns, repeat(key))),
                       dtype=bool, count=len(anns))


def _drop_reasons(boxes: np.ndarray, width: np.ndarray, height: np.ndarray,
                  area: np.ndarray, ignore: np.ndarray) -> np.ndarray:
    """MMDetection's ``parse_data_info`` filters, vectorised: the first
    reason each box is left out for, -1 if kept."""
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
            and image, if the file lists no images, gives one id to two
            images, or has annotations with a problem of
            :data:`.annotation_problems.PROBLEMS` (with the count of each).
    """
    if 'images' not in data or not all(
            isinstance(data.get(key, []), list)
            for key in ('images', 'annotations', 'categories')):
        return None  # not COCO's layout: .checks.coco_problem says so
    images = data['images']
    if not images:
        raise DataError(f'annotation file {path} {NO_IMAGES}')
    anns = data.get('annotations') or []
    repeated = repeated_image_line(path, images, anns)
    if repeated:
        raise DataError(repeated)
    categories = {c.get('id'): c.get('name')
                  for c in data.get('categories') or []}
    index = image_index(anns, images)
    found = annotation_problems(anns, categories, index)
    if any(mask.any() for mask in found.problems.values()):
        raise DataError(problem_line(path, anns, images, found.problems,
                                     categories))
    width = numbers(images, 'width', np.nan)
    height = numbers(images, 'height', np.nan)
    if width is None or height is None:  # MMDetection's to refuse
        width = height = np.full(len(images), np.inf)
    reason = _drop_reasons(found.boxes, width[index], height[index],
                           found.area, _flags(anns, 'ignore'))
    return AnnotationSummary(path, len(images), found.category_ids, reason,
                             _flags(anns, 'iscrowd'), categories)
