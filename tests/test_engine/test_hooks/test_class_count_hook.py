"""ClassCountHook: every head's num_classes against the dataset's classes."""
import os.path as osp
from types import SimpleNamespace
from unittest.mock import Mock

import mmdet
import pytest
from mmdet.datasets import CocoDataset
from mmdet.registry import HOOKS, MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import BaseLoop

from mmdet_eca.engine import ClassCountHook, head_class_counts
from mmdet_eca.errors import ConfigError

# `mmdet::` names work only inside _base_
MODEL_CONFIGS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs',
                         '_base_', 'models')


def detector(base, **changes):
    """An MMDetection model config, with a small backbone to build fast."""
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(osp.join(MODEL_CONFIGS, f'{base}.py'))
    model = cfg.model
    model.backbone = dict(type='ResNet', depth=18, base_channels=8,
                          init_cfg=None)
    model.neck.in_channels = [8, 16, 32, 64]
    for key, value in changes.items():
        node = model
        *path, last = key.split('.')
        for name in path:
            node = node[int(name)] if name.isdigit() else node[name]
        node[last] = value
    return MODELS.build(model)


@pytest.fixture(scope='module')
def mask_rcnn():
    return detector('mask-rcnn_r50_fpn')


def test_two_stage_heads_without_the_rpn(mask_rcnn):
    assert head_class_counts(mask_rcnn) == [
        ('model.roi_head.bbox_head.num_classes', 80),
        ('model.roi_head.mask_head.num_classes', 80)]


def test_cascade_stages_are_named_by_index():
    model = detector('cascade-mask-rcnn_r50_fpn',
                     **{'roi_head.bbox_head.1.num_classes': 3})
    assert head_class_counts(model) == [
        ('model.roi_head.bbox_head[0].num_classes', 80),
        ('model.roi_head.bbox_head[1].num_classes', 3),
        ('model.roi_head.bbox_head[2].num_classes', 80),
        ('model.roi_head.mask_head[0].num_classes', 80),
        ('model.roi_head.mask_head[1].num_classes', 80),
        ('model.roi_head.mask_head[2].num_classes', 80)]


def test_one_stage_head():
    assert head_class_counts(detector('retinanet_r50_fpn')) == [
        ('model.bbox_head.num_classes', 80)]


class Loop(BaseLoop):

    def run(self):
        pass


def runner_with(model, classes, loop='_train_loop', ann_file='ann.json'):
    dataset = SimpleNamespace(metainfo=dict(classes=classes),
                              ann_file=ann_file)
    runner = Mock()
    runner.model = model
    runner.cfg = SimpleNamespace(filename='cfg.py')
    for name in ('_train_loop', '_val_loop', '_test_loop'):
        setattr(runner, name, None)
    setattr(runner, loop,
            Loop(runner, SimpleNamespace(dataset=dataset)))
    return runner


def test_more_head_classes_than_data_classes(mask_rcnn):
    with pytest.raises(ConfigError) as err:
        ClassCountHook().before_run(runner_with(mask_rcnn, ('a', 'b')))
    assert str(err.value) == (
        'cfg.py: model.roi_head.bbox_head.num_classes=80, '
        'model.roi_head.mask_head.num_classes=80, but the train_dataloader '
        "dataset (ann.json) has 2 classes ('a', 'b': "
        'train_dataloader.dataset.metainfo.classes): set num_classes=2 in '
        'each head (or, to train more classes than the data has, '
        'allow_extra_classes=True in the ClassCountHook of custom_hooks)')
    # the explicit switch lets it train
    ClassCountHook(allow_extra_classes=True).before_run(
        runner_with(mask_rcnn, ('a', 'b')))


def test_fewer_head_classes_are_refused_even_when_extra_are_allowed(
        mask_rcnn):
    classes = tuple(f'c{i}' for i in range(81))
    with pytest.raises(ConfigError, match=r'^cfg.py: model.roi_head.'
                       r"bbox_head.num_classes=80, .* but the test_dataloader "
                       r"dataset \(ann.json\) has 81 classes \('c0', 'c1', "
                       r"'c2', 'c3', ...: test_dataloader.dataset.metainfo."
                       r'classes\): set num_classes=81 in each head$'):
        ClassCountHook(allow_extra_classes=True).before_run(
            runner_with(mask_rcnn, classes, loop='_test_loop'))


def test_default_classes_point_at_the_metainfo(mask_rcnn):
    model = detector('mask-rcnn_r50_fpn', **{
        'roi_head.bbox_head.num_classes': 2,
        'roi_head.mask_head.num_classes': 2
    })
    # a CocoDataset whose config gave no metainfo (not loaded: no file)
    dataset = CocoDataset.__new__(CocoDataset)
    dataset._metainfo = dict(CocoDataset.METAINFO)
    dataset.ann_file = 'ann.json'
    runner = runner_with(model, ())
    runner._train_loop.dataloader = SimpleNamespace(dataset=dataset)
    with pytest.raises(ConfigError, match=r"has 80 classes \('person', "
                       r"'bicycle', 'car', 'motorcycle', ...: CocoDataset's "
                       r'default classes\): set train_dataloader.dataset.'
                       r'metainfo=dict\(classes=...\) to your data\'s '
                       r'classes, or num_classes=80 in each head'):
        ClassCountHook().before_run(runner)


def test_a_fitting_model_passes(mask_rcnn):
    classes = tuple(f'c{i}' for i in range(80))
    for loop in ('_train_loop', '_val_loop', '_test_loop'):
        ClassCountHook().before_run(runner_with(mask_rcnn, classes, loop))


def test_registered_in_mmdet_hooks():
    assert HOOKS.get('ClassCountHook') is ClassCountHook
