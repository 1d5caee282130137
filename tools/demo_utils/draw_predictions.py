"""Run a detector on images and save them with its predictions drawn."""
import os
import os.path as osp
from typing import List, Sequence

import mmcv
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import VISUALIZERS
from mmdet.utils import register_all_modules
from mmdet_eca.fileio import atomic_path

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff',
                    '.webp')


def list_images(image_or_dir: str) -> List[str]:
    """``image_or_dir`` itself, or the images directly inside the folder."""
    if osp.isfile(image_or_dir):
        return [image_or_dir]
    if not osp.isdir(image_or_dir):
        raise FileNotFoundError(f'{image_or_dir}: no such image or folder')
    images = sorted(
        osp.join(image_or_dir, f) for f in os.listdir(image_or_dir)
        if f.lower().endswith(IMAGE_EXTENSIONS))
    if not images:
        raise FileNotFoundError(
            f'{image_or_dir}: no images ({", ".join(IMAGE_EXTENSIONS)}) in '
            'this folder')
    return images


def draw_predictions(config: str,
                     checkpoint: str,
                     images: Sequence[str],
                     out_dir: str,
                     score_thr: float = 0.3,
                     device: str = 'cpu') -> List[str]:
    """Predict on ``images`` and save each with boxes, masks, class names
    and scores drawn, as ``out_dir/<image name>.png``.

    Args:
        config (str): Detector config.
        checkpoint (str): Trained checkpoint; its class names are used.
        images (Sequence[str]): Image files.
        out_dir (str): Folder for the PNGs (created if needed).
        score_thr (float): Draw only predictions scoring at least this.
            Defaults to 0.3.
        device (str): Device to run on, e.g. ``'cpu'`` or ``'cuda:0'``.
            Defaults to ``'cpu'``.

    Returns:
        list[str]: The PNG files written.
    """
    register_all_modules()
    model = init_detector(config, checkpoint, device=device)
    visualizer = VISUALIZERS.build(model.cfg.visualizer)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for image_file in images:
        image = mmcv.imread(image_file, channel_order='rgb')
        if image is None:
            raise ValueError(f'{image_file}: not a readable image')
        result = inference_detector(model, image_file)
        visualizer.add_datasample(
            osp.basename(image_file),
            image,
            data_sample=result,
            draw_gt=False,
            pred_score_thr=score_thr)
        out_file = osp.join(out_dir,
                            osp.splitext(osp.basename(image_file))[0] + '.png')
        # no half-written PNG is left behind
        with atomic_path(out_file) as tmp_file:
            mmcv.imwrite(visualizer.get_image()[..., ::-1], tmp_file)
        written.append(out_file)
    return written
