"""A small, seeded COCO-format instance-segmentation dataset of shapes.

It lets the demo and the tests train and evaluate a real detector with no
download: images of filled circles, rectangles and triangles of several
sizes and colours on a noisy background, which may overlap (the object drawn
later occludes the earlier one, and masks and boxes keep only what is
visible), annotated with polygon masks exactly as COCO is.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Dict, List, Tuple

import cv2
import numpy as np

CLASSES = ('circle', 'rectangle', 'triangle')


def _shape_mask(rng: np.random.Generator, cls: int, size: int,
                cx: int, cy: int, hw: Tuple[int, int]) -> np.ndarray:
    mask = np.zeros(hw, np.uint8)
    r = size // 2
    if cls == 0:
        cv2.circle(mask, (cx, cy), r, 1, -1)
    elif cls == 1:
        aspect = rng.uniform(0.5, 1.0)
        short = int(r * aspect)
        w, h = (r, short) if rng.random() < 0.5 else (short, r)
        cv2.rectangle(mask, (cx - w, cy - h), (cx + w, cy + h), 1, -1)
    else:
        angle = rng.uniform(0, 2 * np.pi)
        pts = [(cx + r * np.cos(angle + a), cy + r * np.sin(angle + a))
               for a in (0, 2 * np.pi / 3, 4 * np.pi / 3)]
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
    return mask.astype(bool)


def _polygons(mask: np.ndarray) -> List[List[float]]:
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.flatten().astype(float).tolist() for c in contours
            if len(c) >= 3]


def make_image(rng: np.random.Generator, size: int, max_objects: int,
               min_size: int, max_size: int):
    """One image and its visible object masks.

    Returns:
        tuple: ``image`` [H, W, 3] uint8 (BGR), and a list of
        ``(class_index, visible_mask)``.
    """
    hw = (size, size)
    background = rng.integers(0, 256, 3)
    image = np.empty((size, size, 3), np.int16)
    image[:] = background
    image += rng.integers(-12, 13, image.shape, dtype=np.int16)
    objects = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        for _attempt in range(20):
            cls = int(rng.integers(len(CLASSES)))
            obj_size = int(rng.integers(min_size, max_size + 1))
            margin = obj_size // 2
            cx = int(rng.integers(margin, size - margin))
            cy = int(rng.integers(margin, size - margin))
            mask = _shape_mask(rng, cls, obj_size, cx, cy, hw)
            # keep most of every earlier object visible, so that each
            # annotation still shows its shape
            if all((vis & ~mask).sum() >= 0.6 * vis.sum()
                   for _, vis in objects):
                break
        else:
            continue
        color = rng.integers(0, 256, 3)
        while np.abs(color - background).sum() < 150:
            color = rng.integers(0, 256, 3)
        image[mask] = color + rng.integers(-8, 9, (int(mask.sum()), 3))
        objects = [(c, vis & ~mask) for c, vis in objects]
        objects.append((cls, mask))
    return np.clip(image, 0, 255).astype(np.uint8), objects


def _split(rng, out_dir: str, split: str, num_images: int, image_size: int,
           max_objects: int, min_size: int, max_size: int) -> Dict:
    images, annotations = [], []
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    for img_id in range(1, num_images + 1):
        image, objects = make_image(rng, image_size, max_objects, min_size,
                                    max_size)
        file_name = f'{img_id:06d}.png'
        cv2.imwrite(osp.join(out_dir, split, file_name), image)
        images.append(
            dict(id=img_id, file_name=file_name, width=image_size,
                 height=image_size))
        for cls, vis in objects:
            polygons = _polygons(vis)
            if not polygons:
                continue
            ys, xs = np.nonzero(vis)
            x0, y0 = float(xs.min()), float(ys.min())
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=img_id,
                    category_id=cls + 1,
                    bbox=[x0, y0, float(xs.max()) + 1 - x0,
                          float(ys.max()) + 1 - y0],
                    area=float(vis.sum()),
                    segmentation=polygons,
                    iscrowd=0))
    return dict(
        images=images,
        annotations=annotations,
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)])


def generate_shapes_dataset(out_dir: str,
                            num_train: int = 400,
                            num_val: int = 80,
                            image_size: int = 128,
                            max_objects: int = 4,
                            min_size: int = 16,
                            max_size: int = 56,
                            seed: int = 0) -> Dict[str, str]:
    """Write a shapes dataset in MMDetection's COCO layout.

    ``out_dir/annotations/instances_{train,val}.json`` and the images in
    ``out_dir/train/`` and ``out_dir/val/``. The same arguments always give
    the same files, and each split draws from a random stream of its own,
    so the val images do not change with ``num_train``. The dataset is
    written to a temporary folder beside ``out_dir`` and renamed into place,
    so an interrupted run never leaves a half-written dataset behind.

    Args:
        out_dir (str): Folder to create; replaced if it exists.
        num_train (int): Training images. Defaults to 400.
        num_val (int): Validation images. Defaults to 80.
        image_size (int): Side of the square images. Defaults to 128.
        max_objects (int): Most objects per image (at least one).
            Defaults to 4.
        min_size (int): Smallest object diameter in pixels. Defaults to 16.
        max_size (int): Largest object diameter in pixels. Defaults to 56.
        seed (int): Seed of the generator. Defaults to 0.

    Returns:
        dict: Paths of the ``train``/``val`` annotation files.
    """
    if not 0 < min_size <= max_size < image_size:
        raise ValueError('need 0 < min_size <= max_size < image_size, got '
                         f'{min_size}, {max_size}, {image_size}')
    out_dir = osp.abspath(out_dir)
    parent = osp.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.shapes-', dir=parent)
    try:
        os.makedirs(osp.join(tmp, 'annotations'))
        for index, (split, n) in enumerate((('train', num_train),
                                            ('val', num_val))):
            rng = np.random.default_rng([seed, index])
            coco = _split(rng, tmp, split, n, image_size, max_objects,
                          min_size, max_size)
            with open(osp.join(tmp, 'annotations', f'instances_{split}.json'),
                      'w') as f:
                json.dump(coco, f)
        if osp.exists(out_dir):
            shutil.rmtree(out_dir)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {
        split: osp.join(out_dir, 'annotations', f'instances_{split}.json')
        for split in ('train', 'val')
    }
