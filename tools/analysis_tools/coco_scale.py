"""A synthetic annotation file the size of COCO's train2017.

COCO's ``instances_train2017.json`` lists 118,287 images (1,021 of them
without annotations) and 860,001 instances in about 450 MB, most of it
segmentation polygons. :func:`write_coco_like` writes a file of the same
shape: the same counts, one polygon of ``points`` vertices per instance
(24 gives about COCO's size), 80 categories, about 1% crowd instances and
a few boxes under one pixel, so that MMDetection's dataset build does the
work it does on COCO. The numbers are random; only the shape matters.
"""
import json
import os
from typing import Optional

import numpy as np

COCO_TRAIN_IMAGES = 118_287
COCO_TRAIN_INSTANCES = 860_001
COCO_TRAIN_EMPTY_IMAGES = 1_021
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def _annotations(rng: np.random.Generator, first_id: int, owner: np.ndarray,
                 sizes: np.ndarray, points: int) -> list:
    """Annotations of the images ``owner`` (indices into ``sizes``): a
    random box each, with an elliptic polygon of ``points`` vertices."""
    n = len(owner)
    img_wh = sizes[owner].astype(np.float64)
    unit = rng.uniform(0.02, 0.6, size=(n, 4))
    xy = unit[:, :2] * img_wh * 0.5
    wh = unit[:, 2:] * img_wh * 0.5
    wh[rng.random(n) < 0.0002, 0] = 0.5  # a few under one pixel wide
    angles = np.sort(rng.uniform(0, 2 * np.pi, (n, points)), axis=1)
    centre = xy + wh / 2
    xs = centre[:, :1] + wh[:, :1] / 2 * np.cos(angles)
    ys = centre[:, 1:] + wh[:, 1:] / 2 * np.sin(angles)
    polygons = np.round(np.stack([xs, ys], 2).reshape(n, -1), 2).tolist()
    boxes = np.round(np.concatenate([xy, wh], 1), 2).tolist()
    areas = np.round(wh[:, 0] * wh[:, 1] * 0.7, 2).tolist()
    crowd = (rng.random(n) < 0.009).astype(int).tolist()
    categories = rng.integers(1, 81, size=n).tolist()
    return [
        dict(id=first_id + k, image_id=int(owner[k]) + 1,
             category_id=categories[k], bbox=boxes[k], area=areas[k],
             iscrowd=crowd[k], segmentation=[polygons[k]]) for k in range(n)
    ]


def write_coco_like(path: str,
                    num_images: int = COCO_TRAIN_IMAGES,
                    num_instances: int = COCO_TRAIN_INSTANCES,
                    empty_images: int = COCO_TRAIN_EMPTY_IMAGES,
                    points: int = 24,
                    image_folder: Optional[str] = None,
                    seed: int = 0) -> dict:
    """Write a COCO-style annotation file of the given size.

    Args:
        path (str): The JSON file to write.
        num_images (int): Images listed. Defaults to COCO train2017's.
        num_instances (int): Annotations. Defaults to COCO train2017's.
        empty_images (int): Images left without annotations (what
            ``filter_empty_gt`` drops). Defaults to COCO train2017's.
        points (int): Vertices of each instance's polygon.
        image_folder (str, optional): Also write each image there, as a
            file of PNG signature bytes only (enough for the image check,
            which reads the first bytes).
        seed (int): Random seed.

    Returns:
        dict: ``images``, ``instances``, ``bytes`` written.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(240, 641, size=(num_images, 2))
    images = [
        dict(id=i + 1, file_name=f'{i + 1:012d}.jpg', width=int(w),
             height=int(h)) for i, (w, h) in enumerate(sizes.tolist())
    ]
    owner = rng.integers(0, max(num_images - empty_images, 1),
                         size=num_instances)
    categories = [dict(id=c, name=f'class_{c}') for c in range(1, 81)]
    # written in pieces: the whole file as Python objects would take GBs
    with open(path, 'w') as f:
        f.write('{"images": ' + json.dumps(images) + ', "annotations": [')
        for start in range(0, num_instances, 50_000):
            part = _annotations(rng, start + 1,
                                owner[start:start + 50_000], sizes, points)
            f.write((', ' if start else '') + json.dumps(part)[1:-1])
        f.write('], "categories": ' + json.dumps(categories) + '}')
    if image_folder is not None:
        os.makedirs(image_folder, exist_ok=True)
        for image in images:
            with open(os.path.join(image_folder, image['file_name']),
                      'wb') as f:
                f.write(PNG_SIGNATURE)
    return dict(images=num_images, instances=num_instances,
                bytes=os.path.getsize(path))
