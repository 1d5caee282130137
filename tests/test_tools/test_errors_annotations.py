"""Annotation files as annotation tools export them, under the project's
tools/train.py and MMDetection's own (the config brings the check): what
cannot be what the author meant ends the run in one line naming the file,
the annotation and its image, with a non-zero exit; what MMDetection
leaves out of a training file on purpose is logged as counts, whether the
config gives ann_file as an absolute path or joined to data_root."""
import json
import os.path as osp

import pytest

from test_errors import run, train_tool, write_config
from test_errors_wrong_runs import break_annotation
from test_mmdet_tools import mmdet_tool
from test_mmdet_tools_errors import config, data, last_line  # noqa: F401

POLYGON = ('expected each polygon as a list [x1, y1, x2, y2, x3, y3, ...] of '
           'at least 3 points; fix or remove the polygon')


def _image(coco, ann):
    image = next(i for i in coco['images'] if i['id'] == ann['image_id'])
    return f"annotation {ann['id']} of image {image['id']} " \
        f"({image['file_name']})"


def repeated_image_id(coco):
    first, second = coco['images'][:2]
    second['id'] = first['id']
    owned = [str(a['id']) for a in coco['annotations']
             if a['image_id'] == first['id']]
    return (f"image id {first['id']} is given to 2 images "
            f"('{first['file_name']}', '{second['file_name']}'): pycocotools "
            f'keeps the last, and the annotations of the id ({len(owned)}: '
            f"ids {', '.join(owned)}) would all go to it; give each image its "
            'own id')


def unlisted_image(coco):
    ann = coco['annotations'][0]
    ann['image_id'] = 999
    ids = ', '.join(str(i['id']) for i in coco['images'])
    return (f"annotation {ann['id']} of image 999 has image_id 999, which is "
            f"not among the file's images (ids {ids}), so it is never read; "
            "add the image to 'images' or fix the annotation")


def string_bbox(coco):
    ann = coco['annotations'][0]
    ann['bbox'] = [str(v) for v in ann['bbox']]
    return (f"{_image(coco, ann)} has bbox {json.dumps(ann['bbox'])}: "
            'expected 4 numbers [x, y, width, height]; fix or remove the '
            'annotation')


def string_area(coco):
    ann = coco['annotations'][0]
    ann['area'] = str(ann['area'])
    return (f"{_image(coco, ann)} has area \"{ann['area']}\": expected a "
            'number (its area in pixels); fix or remove the annotation')


def two_point_polygons(coco):
    for ann in coco['annotations'][:2]:
        ann['segmentation'] = [[10, 10, 20, 20]]
    return (f"{_image(coco, coco['annotations'][0])} has a segmentation "
            f'polygon of 2 points ([10, 10, 20, 20]): {POLYGON} (2 '
            'annotations have problems: 2 with a polygon of fewer than 3 '
            'points)')


CASES = [repeated_image_id, unlisted_image, string_bbox, string_area,
         two_point_polygons]


@pytest.mark.parametrize('tool', ['project', 'mmdet'])
@pytest.mark.parametrize('case', CASES, ids=[c.__name__ for c in CASES])
def test_a_training_file_that_is_refused(data, tmp_path, capsys, case,
                                         tool):
    expected = {}

    def edit(coco):
        expected['line'] = case(coco)

    ann, _ = break_annotation(data, 'train', edit)
    message = f"annotation file {ann}: {expected['line']}"
    if tool == 'project':
        config_file = write_config(str(tmp_path), 'c', data)
        assert run(train_tool, [config_file], capsys) == f'error: {message}'
    else:
        proc = mmdet_tool('train', config(data, tmp_path), cwd=tmp_path)
        assert last_line(proc) == f'mmdet_eca.errors.DataError: {message}'
    assert not list(tmp_path.glob('work*/*.pth'))


def absolute_ann_file(cfg):
    dataset = cfg.train_dataloader.dataset
    dataset.ann_file = osp.join(dataset.data_root, dataset.ann_file)


def crowd_and_ignored(coco):
    coco['annotations'][0]['iscrowd'] = 1
    coco['annotations'][1]['ignore'] = 1


@pytest.mark.parametrize('tool', ['project', 'mmdet'])
@pytest.mark.parametrize('joining', ['absolute', 'data_root'])
def test_what_mmdetection_leaves_out_is_logged(data, tmp_path, capsys, tool,
                                               joining):
    ann, coco = break_annotation(data, 'train', crowd_and_ignored)
    edit = absolute_ann_file if joining == 'absolute' else None
    if tool == 'project':
        assert train_tool.main([write_config(str(tmp_path), 'c', data,
                                             edit)]) == 0
        out, err = capsys.readouterr()
        log = out + err
    else:
        proc = mmdet_tool('train', config(data, tmp_path, edit), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        log = proc.stdout + proc.stderr
    assert (f'annotation file {ann}: MMDetection leaves out 2 of its '
            f"{len(coco['annotations'])} annotations (1 marked ignore, 1 "
            'crowd (iscrowd), kept as ignored regions)') in log
