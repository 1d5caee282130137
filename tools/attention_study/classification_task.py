"""The transfer study's "ImageNet": whole-image classification of the
demo's shapes, written as an image folder for mmpretrain.

Each 64 x 64 image holds one shape from the demo's generator
(:func:`demo_utils.shapes.make_image`), labelled with its class and whether
it is large or small: 6 classes, chance 1/6. The detector must later
localise the same shapes, so the features carry over, as ImageNet's do to
COCO.
"""
import os.path as osp
from typing import Dict, Tuple

import numpy as np

from demo_utils.shapes import CLASSES, make_image
from .mmpretrain_runs import write_image_folder

# folder names sort in label order: label = 2 * shape + large
CLASS_NAMES = [f'{2 * i + large}-{name}-{("small", "large")[large]}'
               for i, name in enumerate(CLASSES) for large in (0, 1)]
NUM_CLASSES = len(CLASS_NAMES)


def shapes_classification(num_images: int, size: int,
                          seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """BGR uint8 images [N, size, size, 3] and labels [N].

    The label is ``2 * class + (diameter above the middle of the range)``
    of the image's one shape.
    """
    rng = np.random.default_rng([seed, 7])
    images = np.empty((num_images, size, size, 3), np.uint8)
    labels = np.empty(num_images, np.int64)
    small, large = size // 6, size // 2
    for i in range(num_images):
        image, [(cls, mask)] = make_image(rng, size, 1, small, large)
        # the diameter from the area, as if a disc: classes differ little
        # in area at one size, much less than small from large
        diameter = 2 * np.sqrt(mask.sum() / np.pi)
        images[i] = image
        labels[i] = 2 * cls + (diameter > (small + large) / 2)
    return images, labels


def write_classification_task(root: str, num_train: int, num_val: int,
                              size: int, seed: int = 0) -> Dict[str, str]:
    """``root/train`` and ``root/val`` image folders, kept if present.

    Returns:
        dict: ``train`` and ``val`` folder paths, ``task`` in words.
    """
    folders = {}
    for split, count, offset in (('train', num_train, 0),
                                 ('val', num_val, 1000)):
        folder = osp.join(root, split)
        if not osp.isdir(folder):
            images, labels = shapes_classification(count, size,
                                                   seed + offset)
            write_image_folder(folder, images, labels, CLASS_NAMES)
        folders[split] = folder
    folders['task'] = (f'{NUM_CLASSES}-class generated shapes (shape x '
                       f'large/small), {size} px, {num_train} train / '
                       f'{num_val} val images')
    return folders

