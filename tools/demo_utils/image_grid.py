"""Tile images into one PNG, for an overview of many small images."""
from typing import Sequence

import cv2
import numpy as np


def save_image_grid(image_files: Sequence[str], out_file: str,
                    columns: int = 2, scale: int = 2) -> None:
    """Tile images row by row into ``out_file``.

    Args:
        image_files (Sequence[str]): Images of equal height (they are
            padded to the widest).
        out_file (str): PNG to write.
        columns (int): Images per row. Defaults to 2.
        scale (int): Integer upscaling (nearest neighbour), so that the
            labels drawn on small images stay legible. Defaults to 2.
    """
    if not image_files:
        raise ValueError('no images to tile')
    images = [cv2.imread(f) for f in image_files]
    missing = [f for f, im in zip(image_files, images) if im is None]
    if missing:
        raise FileNotFoundError(f'cannot read image {missing[0]}')
    h = max(im.shape[0] for im in images)
    w = max(im.shape[1] for im in images)
    tiles = [
        cv2.copyMakeBorder(im, 0, h - im.shape[0], 0, w - im.shape[1],
                           cv2.BORDER_CONSTANT, value=(255, 255, 255))
        for im in images
    ]
    while len(tiles) % columns:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.concatenate(tiles[i:i + columns], axis=1)
            for i in range(0, len(tiles), columns)]
    grid = np.concatenate(rows, axis=0)
    if scale > 1:
        grid = cv2.resize(grid, None, fx=scale, fy=scale,
                          interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(out_file, grid)
