"""Runs that used to go wrong silently (or with a message naming nothing)
end in one line naming the file or config entry, under the project's
tools/train.py and tools/test.py: heads with another class count than the
data, an annotation file with a NaN box or no images, a config with a
syntax error, a folder given as a checkpoint, a ResNet-D backbone of
another stem width testing its own checkpoint. docs/troubleshooting.md
lists the messages."""
import json
import os.path as osp
import shutil
from types import SimpleNamespace

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import mmdet_eca  # noqa: F401  (registers the backbones)
from test_errors import DEMO, backbone, run, write_config
from tiny_runs import tiny_config
from tool_modules import load_tool

train_tool, test_tool = load_tool('train'), load_tool('test')


@pytest.fixture(scope='module')
def files(shapes_data, tmp_path_factory):
    """A folder, the tiny dataset, a config and weights of its model."""
    root = str(tmp_path_factory.mktemp('wrong_runs'))
    register_all_modules(init_default_scope=False)
    cfg = tiny_config(DEMO, shapes_data, root)
    weights = osp.join(root, 'weights.pth')
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()},
               weights)
    return SimpleNamespace(root=root, data=str(shapes_data), weights=weights,
                           config=write_config(root, 'good', shapes_data))


@pytest.fixture
def data(tmp_path, shapes_data):
    """A copy of the tiny dataset to break."""
    root = tmp_path / 'data'
    shutil.copytree(shapes_data, root)
    return root


def two_classes(*keys):
    """Give the datasets of ``keys`` 2 of the 3 classes the heads have."""

    def edit(cfg):
        for key in keys:
            cfg[key].dataset.metainfo = dict(classes=('circle', 'rectangle'))

    return edit


CLASS_FIX = ('set num_classes=2 in each head (or, to train more classes than '
             'the data has, allow_extra_classes=True in the ClassCountHook of '
             'custom_hooks)')


def test_heads_with_more_classes_than_the_training_data(files, capsys):
    config = write_config(files.root, 'classes', files.data,
                          two_classes('train_dataloader'))
    assert run(train_tool, [config], capsys) == (
        f'error: {config}: model.roi_head.bbox_head.num_classes=3, '
        'model.roi_head.mask_head.num_classes=3, but the train_dataloader '
        f'dataset ({files.data}/annotations/instances_train.json) has 2 '
        "classes ('circle', 'rectangle': train_dataloader.dataset.metainfo."
        f'classes): {CLASS_FIX}')


def test_heads_with_more_classes_than_the_test_data(files, capsys):
    config = write_config(files.root, 'classes', files.data,
                          two_classes('test_dataloader'))
    line = run(test_tool, [config, files.weights], capsys)
    assert line.startswith(
        f'error: {config}: model.roi_head.bbox_head.num_classes=3, '
        'model.roi_head.mask_head.num_classes=3, but the test_dataloader '
        f'dataset ({files.data}/annotations/instances_val.json) has 2 ')


def break_annotation(data, split, edit):
    """Apply ``edit`` to the first annotation of a split; returns it."""
    path = data / 'annotations' / f'instances_{split}.json'
    coco = json.loads(path.read_text())
    edit(coco)
    path.write_text(json.dumps(coco))
    return path, coco


def test_a_nan_box_in_the_training_file(files, data, capsys):

    def nan_box(coco):
        coco['annotations'][0]['bbox'][0] = float('nan')

    ann, coco = break_annotation(data, 'train', nan_box)
    first = coco['annotations'][0]
    image = next(i for i in coco['images'] if i['id'] == first['image_id'])
    box = json.dumps(first['bbox'])
    line = run(train_tool, [write_config(str(data.parent), 'c', data)],
               capsys)
    assert line == (
        f"error: annotation file {ann}: annotation {first['id']} of image "
        f"{image['id']} ({image['file_name']}) has bbox {box}, which is not "
        'finite (expected [x, y, width, height] in pixels); fix or remove '
        'the annotation')


def test_an_empty_test_set(files, data, capsys):

    def no_images(coco):
        coco['images'], coco['annotations'] = [], []

    ann, _ = break_annotation(data, 'val', no_images)
    config = write_config(str(data.parent), 'c', data)
    assert run(test_tool, [config, files.weights], capsys) == (
        f"error: annotation file {ann} lists no images ('images' is empty): "
        'expected the annotations of the images to train or test on; check '
        'the ann_file the config names (test_dataloader.dataset.ann_file)')


def test_a_config_with_a_syntax_error(files, tmp_path, capsys):
    config = tmp_path / 'broken.py'
    config.write_text(open(files.config).read() + '\nx = dict(a=1,\n')
    line = run(train_tool, [str(config)], capsys)
    assert line.startswith(f'error: {config}, line ')
    assert line.endswith(": invalid Python syntax ('(' was never closed); "
                         'fix the config file')


def test_a_folder_given_as_checkpoint(files, tmp_path, capsys):
    folder = tmp_path / 'work_dir'
    folder.mkdir()
    assert run(test_tool, [files.config, str(folder)], capsys) == (
        f'error: checkpoint {folder} is a folder, not a checkpoint file; it '
        'holds no checkpoint file (.pth)')
    shutil.copy(files.weights, folder / 'epoch_3.pth')
    assert run(train_tool, [files.config, '--resume', str(folder)],
               capsys) == (
        f'error: checkpoint {folder} is a folder, not a checkpoint file; '
        f'give a checkpoint file in it, such as {folder}/epoch_3.pth '
        '(--resume / load_from)')
    pretrained = backbone(init_cfg=dict(type='Pretrained',
                                        checkpoint=str(folder)))
    config = write_config(files.root, 'pretrained', files.data, pretrained)
    assert run(train_tool, [config], capsys) == (
        f'error: pretrained backbone checkpoint {folder} is a folder, not a '
        'checkpoint file; give a checkpoint file in it, such as '
        f'{folder}/epoch_3.pth (model.backbone.init_cfg.checkpoint)')


def test_a_resnet_d_with_another_stem_tests_its_own_checkpoint(
        files, tmp_path, capsys):
    # ECAResNetV1d with stem_channels 16 (an 8-8-16 stem) once took its own
    # weights for timm's tiered stem
    v1d = backbone(type='ECAResNetV1d', stem_channels=16)
    config = write_config(files.root, 'v1d', files.data, v1d)
    cfg = tiny_config(DEMO, files.data, str(tmp_path))
    v1d(cfg)
    weights = tmp_path / 'v1d.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, weights)
    assert test_tool.main([config, str(weights)]) == 0
    assert 'coco/bbox_mAP' in capsys.readouterr().out
