"""One line for what :mod:`.annotation_problems` finds in a COCO file.

Each names the file, the annotation (its id, its image's id and file name)
or the image id, says what is wrong and what was expected, and counts the
others with a problem, so that one run shows the size of the damage.
"""
import json
from typing import Dict, List, Optional

import numpy as np

from .annotation_problems import PROBLEMS, is_polygon, numbers

EXPECTED_BOX = 'expected [x, y, width, height] in pixels'
EXPECTED_POLYGON = ('expected each polygon as a list [x1, y1, x2, y2, x3, '
                    'y3, ...] of at least 3 points')


def shown(values: List, limit: int = 4) -> str:
    """The first ``limit`` values, then ``...`` if there are more.

    Args:
        values (list): What to show, each as its ``repr``.
        limit (int): How many. Defaults to 4.
    """
    text = ', '.join(repr(v) for v in values[:limit])
    return text + (', ...' if len(values) > limit else '') or 'none'


def _short(value, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit - 4] + ' ...'


def where(path: str, ann: dict, images: List[dict]) -> str:
    """``annotation file <path>: annotation <id> of image <id> (<file>)``.

    Args:
        path (str): The annotation file.
        ann (dict): The annotation.
        images (list[dict]): The file's images.
    """
    image_id = ann.get('image_id')
    name = next((img.get('file_name') for img in images
                 if img.get('id') == image_id), None)
    shown_name = f' ({name})' if name else ''
    return (f'annotation file {path}: annotation {ann.get("id")} of image '
            f'{image_id}{shown_name}')


def _polygon_phrase(segmentation: list) -> str:
    polygon = next(p for p in segmentation if not is_polygon(p))
    if not isinstance(polygon, list):
        return (f'has segmentation {_short(segmentation)}, whose items are '
                'not polygons')
    if len(polygon) % 2:
        return (f'has a segmentation polygon of {len(polygon)} numbers, an '
                f'odd count ({_short(polygon)})')
    return (f'has a segmentation polygon of {len(polygon) // 2} points '
            f'({_short(polygon)})')


def _phrase(kind: str, ann: dict, categories: Dict, images: List[dict]):
    """What is wrong with ``ann`` and what to do, for its problem ``kind``.
    """
    fix = 'fix or remove the annotation'
    if kind == 'bbox':
        what = (f"has bbox {_short(ann['bbox'])}" if 'bbox' in ann else
                'has no bbox')
        return f'{what}: expected 4 numbers [x, y, width, height]', fix
    box = _short(ann.get('bbox'))
    if kind == 'finite':
        return f'has bbox {box}, which is not finite ({EXPECTED_BOX})', fix
    if kind == 'negative':
        return (f'has bbox {box}, of negative width or height '
                f'({EXPECTED_BOX})'), fix
    if kind == 'area':
        what = (f"has area {_short(ann['area'])}" if 'area' in ann else
                'has no area')
        return f'{what}: expected a number (its area in pixels)', fix
    if kind == 'polygon':
        return (f"{_polygon_phrase(ann['segmentation'])}: "
                f'{EXPECTED_POLYGON}'), 'fix or remove the polygon'
    if kind == 'category':
        return (f'has category_id {_short(ann.get("category_id"))}, which '
                "is not among the file's categories (ids "
                f'{shown(list(categories), 6)})'), (
                    "add the category to 'categories' or fix the annotation")
    ids = [img.get('id') for img in images]
    return (f'has image_id {_short(ann.get("image_id"))}, which is not '
            f"among the file's images (ids {shown(ids, 6)}), so it is never "
            'read'), "add the image to 'images' or fix the annotation"


def problem_line(path: str, anns: List[dict], images: List[dict],
                 problems: Dict[str, np.ndarray], categories: Dict) -> str:
    """One line naming the first annotation with a problem (the file, its
    id and image, what is wrong) and, if there are more, how many have each
    kind of problem.

    Args:
        path (str): The annotation file.
        anns (list[dict]): Its annotations.
        images (list[dict]): Its images.
        problems (dict): ``{kind: mask}`` from :func:`annotation_problems`.
        categories (dict): Its categories, ``{id: name}``.
    """
    bad = np.logical_or.reduce(list(problems.values()))
    first = int(np.argmax(bad))
    kind = next(k for k, mask in problems.items() if mask[first])
    what, fix = _phrase(kind, anns[first], categories, images)
    counts = [f'{int(mask.sum()):,} {PROBLEMS[name]}'
              for name, mask in problems.items() if mask.any()]
    total = int(bad.sum())
    more = (f' ({total:,} annotations have problems: {", ".join(counts)})'
            if total > 1 else '')
    return f'{where(path, anns[first], images)} {what}; {fix}{more}'


def repeated_image_line(path: str, images: List[dict],
                        anns: List[dict]) -> Optional[str]:
    """One line naming the first image id that two images of the file
    share, or None if every id is its own.

    Args:
        path (str): The annotation file.
        images (list[dict]): Its images.
        anns (list[dict]): Its annotations (those of the id are named).
    """
    ids = numbers(images, 'id', typecode='q')
    if ids is not None:
        unique, counts = np.unique(ids, return_counts=True)
        repeated = set(unique[counts > 1].tolist())
    else:
        seen: set = set()
        repeated = {i for i in (img.get('id') for img in images)
                    if i in seen or seen.add(i)}
    if not repeated:
        return None
    image_id = next(img.get('id') for img in images
                    if img.get('id') in repeated)
    names = [img.get('file_name') for img in images
             if img.get('id') == image_id]
    owned = [a.get('id') for a in anns if a.get('image_id') == image_id]
    more = (f' ({len(repeated) - 1:,} more image ids are repeated)'
            if len(repeated) > 1 else '')
    return (f'annotation file {path}: image id {_short(image_id)} is given '
            f'to {len(names)} images ({shown(names)}): pycocotools keeps '
            f'the last, and the annotations of the id ({len(owned):,}: ids '
            f'{shown(owned)}) would all go to it; give each image its own id'
            f'{more}')
