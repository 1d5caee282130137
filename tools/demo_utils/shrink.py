"""Shrink a detector config to a few tiny generated images.

MMDetection's configs are written for COCO at 640 to 1333 pixels: their
pipelines resize, crop, pad and mix images at that size (RTMDet's and
YOLOX's mosaic and mix-up, YOLOX's batch resizing in the data
preprocessor), and their heads predict 80 classes. :func:`shrink_config`
sets every such size to one small side and the class count to the shapes
dataset's, and keeps every prediction at test time (any score, any box
size); the model and the training recipe stay the config's.
"""
from mmengine.config import Config

from .shapes import CLASSES

_RESIZES = ('Resize', 'RandomResize', 'RandomChoiceResize')
_MIXES = ('Mosaic', 'CachedMosaic', 'MixUp', 'CachedMixUp')


def _walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, fn)


def _keep_degenerate_boxes(node):
    # an untrained model's boxes may be degenerate (RTMDet's distances give
    # boxes of negative width, all of which min_bbox_size=0 would drop)
    if 'min_bbox_size' in node:
        node['min_bbox_size'] = -1


def _shrinker(side: int):
    size = (side, side)

    def shrink(node):
        kind = node.get('type')
        if kind in _RESIZES:
            node['scale'] = size
            node.pop('scales', None)
        elif kind == 'RandomCrop':
            node['crop_size'] = size
        elif kind in ('Pad', 'BatchFixedSizePad') and 'size' in node:
            node['size'] = size
        elif kind in _MIXES:
            node['img_scale'] = size
        elif kind == 'RandomAffine' and 'border' in node:
            # YOLOX's mosaic border: minus half the mosaic's side
            node['border'] = (-side // 2, -side // 2)
        elif kind == 'BatchSyncRandomResize':
            node['random_size_range'] = size
        if 'num_classes' in node:
            node['num_classes'] = len(CLASSES)
        if 'score_thr' in node and kind is None:
            # a model trained for a few iterations scores below any usual
            # threshold; keep every prediction so that evaluation has some
            node['score_thr'] = 0.0
        if isinstance(node.get('test_cfg'), dict):
            _walk(node['test_cfg'], _keep_degenerate_boxes)

    return shrink


def shrink_config(cfg: Config, side: int) -> Config:
    """Every image size in ``cfg`` set to ``side`` x ``side``, the heads to
    the shapes dataset's classes (in place; returned).

    Walks the model (heads, test settings, data preprocessor), the three
    dataloaders' pipelines (wrapped datasets' too) and ``custom_hooks``
    (RTMDet's pipeline switch carries a pipeline).

    Args:
        cfg (Config): A detection config.
        side (int): Image side, e.g. 64.

    Returns:
        Config: ``cfg``.
    """
    shrink = _shrinker(side)
    for key in ('model', 'train_dataloader', 'val_dataloader',
                'test_dataloader', 'custom_hooks'):
        if cfg.get(key) is not None:
            _walk(cfg[key], shrink)
    return cfg
