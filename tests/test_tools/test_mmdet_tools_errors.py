"""The no-silent-wrong-run cases under MMDetection's own tools/train.py and
tools/test.py (what ``mim train/test mmdet`` run): the config brings the
checks, and the tool's last line is the message."""
import json
import shutil

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

import mmdet_eca  # noqa: F401  (registers the backbones)
from test_mmdet_tools import DEMO, mmdet_tool
from tiny_runs import tiny_config


def last_line(proc):
    assert proc.returncode != 0, proc.stdout[-2000:]
    return [line for line in proc.stderr.splitlines() if line.strip()][-1]


@pytest.fixture
def data(shapes_data, tmp_path):
    root = tmp_path / 'data'
    shutil.copytree(shapes_data, root)
    return root


def config(data, tmp_path, edit=None, name='cfg.py'):
    cfg = tiny_config(DEMO, data, tmp_path / 'work')
    if edit is not None:
        edit(cfg)
    path = tmp_path / name
    cfg.dump(str(path))
    return str(path)


def test_mmdet_train_refuses_heads_of_another_class_count(data, tmp_path):

    def two_classes(cfg):
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].dataset.metainfo = dict(classes=('circle', 'rectangle'))

    path = config(data, tmp_path, two_classes)
    line = last_line(mmdet_tool('train', path, cwd=tmp_path))
    assert line == (
        f'mmdet_eca.errors.ConfigError: {path}: model.roi_head.bbox_head.'
        'num_classes=3, model.roi_head.mask_head.num_classes=3, but the '
        f'train_dataloader dataset ({data}/annotations/instances_train.json)'
        " has 2 classes ('circle', 'rectangle': train_dataloader.dataset."
        'metainfo.classes): set num_classes=2 in each head (or, to train '
        'more classes than the data has, allow_extra_classes=True in the '
        'ClassCountHook of custom_hooks)')


def test_mmdet_train_names_a_nan_box(data, tmp_path):
    ann = data / 'annotations' / 'instances_train.json'
    coco = json.loads(ann.read_text())
    first = coco['annotations'][0]
    first['bbox'][0] = float('nan')
    ann.write_text(json.dumps(coco))
    line = last_line(mmdet_tool('train', config(data, tmp_path),
                                cwd=tmp_path))
    assert line.startswith(
        f"mmdet_eca.errors.DataError: annotation file {ann}: annotation "
        f"{first['id']} of image {first['image_id']} ")
    assert line.endswith('which is not finite (expected [x, y, width, '
                         'height] in pixels); fix or remove the annotation')


def test_mmdet_test_names_an_empty_test_set(data, tmp_path):
    ann = data / 'annotations' / 'instances_val.json'
    coco = json.loads(ann.read_text())
    coco['images'], coco['annotations'] = [], []
    ann.write_text(json.dumps(coco))
    line = last_line(mmdet_tool('test', config(data, tmp_path),
                                str(tmp_path / 'none.pth'), cwd=tmp_path))
    assert line == (
        f'mmdet_eca.errors.DataError: annotation file {ann} lists no images '
        "('images' is empty): expected the annotations of the images to "
        'train or test on; check the ann_file the config names '
        '(test_dataloader.dataset.ann_file)')


def test_mmdet_test_says_a_folder_is_no_checkpoint(data, tmp_path):
    folder = tmp_path / 'work_dir'
    folder.mkdir()
    line = last_line(mmdet_tool('test', config(data, tmp_path), str(folder),
                                cwd=tmp_path))
    assert line == (
        f'mmdet_eca.errors.CheckpointError: checkpoint {folder} is a folder, '
        'not a checkpoint file; it holds no checkpoint file (.pth)')


def test_mmdet_train_on_a_config_with_a_syntax_error(data, tmp_path):
    # MMEngine parses the config before any plugin code loads, and its
    # SyntaxError names the line but not the file ("<unknown>"), in the top
    # file as in a _base_ one: a limit docs/troubleshooting.md states (the
    # project's tools/train.py names the file)
    good = config(data, tmp_path, name='good.py')
    top = tmp_path / 'top.py'
    top.write_text(open(good).read() + '\nx = dict(a=1,\n')
    lines = len(top.read_text().splitlines())
    child = tmp_path / 'child.py'
    child.write_text("_base_ = ['top.py']\n")
    for path in (top, child):
        proc = mmdet_tool('train', str(path), cwd=tmp_path)
        assert last_line(proc) == "SyntaxError: '(' was never closed"
        assert f'File "<unknown>", line {lines}' in proc.stderr
        assert str(top) not in proc.stderr


def test_mmdet_test_of_a_resnet_d_with_another_stem(data, tmp_path):
    def v1d(cfg):
        cfg.model.backbone.update(type='ECAResNetV1d', stem_channels=16)

    path = config(data, tmp_path, v1d)
    cfg = tiny_config(DEMO, data, tmp_path)
    v1d(cfg)
    register_all_modules(init_default_scope=False)
    weights = tmp_path / 'v1d.pth'
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict()}, weights)
    proc = mmdet_tool('test', path, str(weights), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr
