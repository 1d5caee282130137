"""The demo's generated dataset: seeded, its splits independent, its boxes
and areas those of its masks."""
import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from demo_utils import generate_shapes_dataset

SMALL = dict(num_val=3, image_size=64, max_objects=3, min_size=12,
             max_size=30)


def _files(root, split):
    images = sorted((root / split).iterdir())
    return [p.read_bytes() for p in images], json.loads(
        (root / 'annotations' / f'instances_{split}.json').read_text())


def test_same_arguments_same_files_and_val_independent_of_num_train(
        tmp_path):
    generate_shapes_dataset(tmp_path / 'a', num_train=4, **SMALL)
    generate_shapes_dataset(tmp_path / 'b', num_train=4, **SMALL)
    generate_shapes_dataset(tmp_path / 'c', num_train=7, **SMALL)
    generate_shapes_dataset(tmp_path / 'd', num_train=4, seed=1, **SMALL)
    assert _files(tmp_path / 'a', 'train') == _files(tmp_path / 'b', 'train')
    # more training images leave the val split as it was, and the first
    # training images too
    assert _files(tmp_path / 'a', 'val') == _files(tmp_path / 'c', 'val')
    assert _files(tmp_path / 'c', 'train')[0][:4] == \
        _files(tmp_path / 'a', 'train')[0]
    # another seed, other images
    assert _files(tmp_path / 'a', 'val')[0] != \
        _files(tmp_path / 'd', 'val')[0]


def test_boxes_and_areas_are_those_of_the_visible_masks(tmp_path):
    paths = generate_shapes_dataset(tmp_path, num_train=6, **SMALL)
    coco = COCO(paths['train'])
    assert coco.getAnnIds()
    for ann in coco.loadAnns(coco.getAnnIds()):
        mask = coco.annToMask(ann)
        ys, xs = np.nonzero(mask)
        x, y, w, h = ann['bbox']
        # the box is the drawn pixels' extent; the polygon runs through the
        # outline pixels' centres, so drawn back it loses up to a pixel or
        # two at right and bottom edges and at sharp corners
        lo = np.array([x, y]) - [xs.min(), ys.min()]
        hi = np.array([x + w, y + h]) - [xs.max() + 1, ys.max() + 1]
        assert np.all(lo <= 0) and np.all(lo >= -2), (ann['bbox'], lo)
        assert np.all(hi >= 0) and np.all(hi <= 2), (ann['bbox'], hi)
        assert abs(mask.sum() - ann['area']) <= 0.35 * ann['area']


def test_impossible_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError, match='min_size <= max_size'):
        generate_shapes_dataset(tmp_path, image_size=32, min_size=16,
                                max_size=40)
    assert not list(tmp_path.iterdir())
