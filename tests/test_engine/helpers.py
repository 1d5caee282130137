"""Configs and COCO files for the engine tests."""
import os.path as osp

import pytest
from tiny_runs import tiny_config

from mmdet_eca.engine.annotation_check import summarize_coco
from mmdet_eca.errors import DataError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs/demo/mask_rcnn_ecanet18_fpn_shapes_demo.py')


def coco(annotations, images=None, categories=None):
    """A COCO file's content: two 100x80 images, categories 'a' and 'b',
    and one annotation per dict of ``annotations``: a 20x20 box of category
    'a' on image 1, with the dict's changes."""
    images = [dict(id=1, file_name='1.jpg', width=100, height=80),
              dict(id=2, file_name='2.jpg', width=100, height=80)] \
        if images is None else images
    categories = [dict(id=1, name='a'), dict(id=2, name='b')] \
        if categories is None else categories
    anns = [dict(dict(id=i + 1, image_id=1, category_id=1, area=100.0,
                      iscrowd=0, bbox=[10, 10, 20, 20]), **a)
            for i, a in enumerate(annotations)]
    return dict(images=images, annotations=anns, categories=categories)


def refusal(data, path='train.json'):
    """The message with which the annotation check refuses ``data``."""
    with pytest.raises(DataError) as err:
        summarize_coco(data, path)
    return str(err.value)


def deterministic_config(data_root, work_dir, max_keep_ckpts=-1):
    """The demo config on the tiny dataset: 2 epochs of 2 iterations, a
    checkpoint per epoch, no validation, deterministic, with the demo's
    random flips and the shipped hooks (all must survive a resume)."""
    cfg = tiny_config(DEMO, data_root, work_dir, max_epochs=2)
    cfg.randomness = dict(seed=0, deterministic=True)
    # the val dataloader would draw from the global torch generator
    # between the epochs; the schedule (end=100 iterations, 24 epochs)
    # is the demo's, untouched
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2)
    cfg.auto_scale_lr.base_batch_size = 16
    # the shipped hooks (configs/_base_/eca_runtime.py) stay as they are
    cfg.default_hooks.checkpoint.update(
        interval=1, max_keep_ckpts=max_keep_ckpts)
    assert any(t['type'] == 'RandomFlip'
               for t in cfg.train_dataloader.dataset.pipeline)
    return cfg
