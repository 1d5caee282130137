"""Shrink a shipped config to a run of seconds on a tiny shapes dataset.

Only data, image scale, class count and schedule change: the model, the
hooks and the optimizer stay those of the shipped config.
"""
import os.path as osp

from mmengine.config import Config

from demo_utils import SHAPES_CLASSES

TINY_SCALE = (96, 96)


def _walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, fn)


def _shrink(node):
    if node.get('type') in ('Resize', 'RandomResize', 'RandomChoiceResize'):
        node['scale'] = TINY_SCALE
        node.pop('scales', None)
    if node.get('type') == 'RandomCrop':
        node['crop_size'] = TINY_SCALE
    if node.get('type') == 'BatchFixedSizePad':  # in data_preprocessor
        node['size'] = TINY_SCALE
    if 'num_classes' in node:
        node['num_classes'] = len(SHAPES_CLASSES)
    if 'score_thr' in node and 'type' not in node:
        # a model trained for an iteration scores below any usual threshold;
        # keep every prediction so that the evaluation has some to score
        node['score_thr'] = 0.0


def tiny_config(config_file, data_root, work_dir, batch_size=2,
                max_epochs=1) -> Config:
    """``config_file`` on ``data_root`` (from ``generate_shapes_dataset``),
    trained for ``max_epochs`` epochs from scratch, logs in ``work_dir``."""
    cfg = Config.fromfile(config_file)
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    cfg.model.backbone.init_cfg = None  # no pretrained weights here
    _walk(cfg.model, _shrink)
    for split, key in (('train', 'train_dataloader'), ('val', 'val_dataloader'),
                       ('val', 'test_dataloader')):
        loader = cfg[key]
        loader.batch_size = batch_size
        loader.num_workers = 0
        loader.persistent_workers = False
        dataset = loader.dataset
        dataset.data_root = str(data_root)
        dataset.ann_file = f'annotations/instances_{split}.json'
        dataset.data_prefix = dict(img=f'{split}/')
        dataset.metainfo = dict(classes=SHAPES_CLASSES)
        dataset.pop('backend_args', None)
        _walk(dataset.pipeline, _shrink)
    ann = osp.join(str(data_root), 'annotations', 'instances_val.json')
    cfg.val_evaluator.ann_file = ann
    cfg.test_evaluator.ann_file = ann
    cfg.train_cfg = dict(
        type='EpochBasedTrainLoop', max_epochs=max_epochs,
        val_interval=max_epochs)
    cfg.default_hooks.logger.interval = 1
    # every epoch's checkpoint kept; the config's hook type stays
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=-1)
    return cfg
