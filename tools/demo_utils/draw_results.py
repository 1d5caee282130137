"""The demo's picture: ground truth beside the predictions, large enough to
read.

Predictions come from the pickle that ``tools/test.py --out`` writes (one
dict per image: ``img_path``, ``pred_instances`` with ``bboxes`` in image
pixels, ``scores``, ``labels`` and RLE ``masks``), so the picture shows
exactly the predictions that were evaluated. Only those scoring at least
``score_thr`` are drawn. Images are enlarged before drawing, and masks are
enlarged smoothly (linear interpolation of the 0/1 mask, then threshold
0.5) so that outlines follow the shapes rather than the pixel grid.
"""
import json
import os.path as osp
import pickle
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from mmdet_eca.fileio import atomic_path

# BGR colours per class index (colour-blind-safe palette of Okabe and Ito)
COLORS = ((0, 159, 230), (178, 114, 0), (167, 121, 204), (66, 228, 240),
          (115, 158, 0), (0, 94, 213))
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _enlarge_mask(mask: np.ndarray, scale: int) -> np.ndarray:
    big = cv2.resize(mask.astype(np.float32), None, fx=scale, fy=scale,
                     interpolation=cv2.INTER_LINEAR)
    return big >= 0.5


def _draw_instance(canvas, mask, box, label, color, scale):
    if mask is not None:
        big = _enlarge_mask(mask, scale)
        canvas[big] = (0.55 * canvas[big] + 0.45 * np.array(color)).astype(
            np.uint8)
        contours, _ = cv2.findContours(big.astype(np.uint8),
                                       cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, color, 2, cv2.LINE_AA)
    x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
    cv2.rectangle(canvas, (x0, y0), (x1, y1), color, 1, cv2.LINE_AA)
    (tw, th), base = cv2.getTextSize(label, FONT, 0.5, 1)
    ty = max(y0, th + base + 2)
    cv2.rectangle(canvas, (x0, ty - th - base - 2), (x0 + tw + 4, ty),
                  color, -1)
    cv2.putText(canvas, label, (x0 + 2, ty - base), FONT, 0.5,
                (255, 255, 255), 1, cv2.LINE_AA)


def _panel(image, instances, scale, title):
    canvas = cv2.resize(image, None, fx=scale, fy=scale,
                        interpolation=cv2.INTER_LINEAR)
    for mask, box, label, cls in instances:
        _draw_instance(canvas, mask, box, label, COLORS[cls % len(COLORS)],
                       scale)
    bar = np.full((28, canvas.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, title, (6, 20), FONT, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, canvas], axis=0)


def _ground_truth(coco: Dict, image_id: int, classes, hw) -> List[Tuple]:
    cat_index = {c['id']: i for i, c in enumerate(coco['categories'])}
    out = []
    for ann in coco['annotations']:
        if ann['image_id'] != image_id:
            continue
        rles = mask_utils.frPyObjects(ann['segmentation'], *hw)
        mask = mask_utils.decode(mask_utils.merge(rles)).astype(bool)
        x, y, w, h = ann['bbox']
        cls = cat_index[ann['category_id']]
        out.append((mask, (x, y, x + w, y + h), classes[cls], cls))
    return out


def _predictions(pred: Dict, classes, score_thr: float) -> List[Tuple]:
    inst = pred['pred_instances']
    scores = np.asarray(inst['scores'])
    labels = np.asarray(inst['labels'])
    boxes = np.asarray(inst['bboxes'])
    masks = inst.get('masks')
    out = []
    for i in np.argsort(scores):  # the best drawn last, on top
        if scores[i] < score_thr:
            continue
        mask = (mask_utils.decode(masks[i]).astype(bool)
                if masks is not None else None)
        cls = int(labels[i])
        out.append((mask, boxes[i], f'{classes[cls]} {scores[i]:.2f}', cls))
    return out


def draw_results(results_pkl: str, ann_file: str, image_dir: str,
                 out_file: str, score_thr: float = 0.5, num_images: int = 8,
                 columns: int = 2, scale: int = 3) -> int:
    """Save a PNG grid of (ground truth | predictions) pairs of val images.

    Args:
        results_pkl (str): ``tools/test.py --out`` pickle.
        ann_file (str): The COCO annotation file evaluated against.
        image_dir (str): Folder of its images.
        out_file (str): PNG to write.
        score_thr (float): Draw predictions scoring at least this.
            Defaults to 0.5.
        num_images (int): Images to show (the first by id). Defaults to 8.
        columns (int): Pairs per row. Defaults to 2.
        scale (int): Enlargement of each image. Defaults to 3.

    Returns:
        int: Number of predictions drawn.
    """
    with open(results_pkl, 'rb') as f:
        results = pickle.load(f)
    with open(ann_file) as f:
        coco = json.load(f)
    classes = [c['name'] for c in coco['categories']]
    by_name = {img['file_name']: img for img in coco['images']}
    results = sorted(results, key=lambda r: r['img_id'])[:num_images]
    if not results:
        raise ValueError(f'{results_pkl}: no predictions in it')
    pairs, drawn = [], 0
    for pred in results:
        name = osp.basename(pred['img_path'])
        if name not in by_name:
            raise ValueError(f'{ann_file}: no image {name!r}, which '
                             f'{results_pkl} has predictions for')
        image = cv2.imread(osp.join(image_dir, name))
        if image is None:
            raise FileNotFoundError(f'cannot read image '
                                    f'{osp.join(image_dir, name)}')
        hw = image.shape[:2]
        gt = _ground_truth(coco, by_name[name]['id'], classes, hw)
        found = _predictions(pred, classes, score_thr)
        drawn += len(found)
        pairs.append(np.concatenate([
            _panel(image, gt, scale, f'{name}: ground truth'),
            np.full((hw[0] * scale + 28, 6, 3), 255, np.uint8),
            _panel(image, found, scale, f'predictions, score >= {score_thr}')
        ], axis=1))
    _save_grid(pairs, out_file, columns)
    return drawn


def _save_grid(tiles: Sequence[np.ndarray], out_file: str,
               columns: int) -> None:
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    pad = 12
    tiles = [cv2.copyMakeBorder(t, 0, h - t.shape[0] + pad, 0,
                                w - t.shape[1] + pad, cv2.BORDER_CONSTANT,
                                value=(255, 255, 255)) for t in tiles]
    while len(tiles) % columns:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.concatenate(tiles[i:i + columns], axis=1)
            for i in range(0, len(tiles), columns)]
    with atomic_path(out_file) as tmp:
        cv2.imwrite(tmp, np.concatenate(rows, axis=0))
