"""COCO files that would train on garbage are named; what MMDetection
drops on purpose is counted exactly as its CocoDataset drops it."""
import json
import logging

import numpy as np
import pytest
from mmdet.datasets import CocoDataset
from mmdet.utils import register_all_modules
from mmengine.logging import MMLogger

from mmdet_eca.engine import SafeRunner
from mmdet_eca.engine.annotation_check import DROP_REASONS, summarize_coco
from mmdet_eca.engine.coco_capture import checking_coco_files
from mmdet_eca.errors import DataError
from .helpers import coco, refusal

CLASSES = ('a', 'b')


@pytest.mark.parametrize('bbox, problem', [
    ([float('nan'), 3, 10, 10], 'has bbox [NaN, 3, 10, 10], which is not '
     'finite (expected [x, y, width, height] in pixels); fix or remove the '
     'annotation'),
    ([3, 3, float('inf'), 10], 'has bbox [3, 3, Infinity, 10], which is not '
     'finite'),
    ([3, 3, -5, 10], 'has bbox [3, 3, -5, 10], of negative width or height'),
    ([3, 3, 5], 'has bbox [3, 3, 5]: expected 4 numbers [x, y, width, '
     'height]'),
])
def test_a_box_that_would_train_on_garbage_is_named(bbox, problem):
    data = coco([{}, dict(bbox=bbox, image_id=2)])
    assert refusal(data).startswith(
        f'annotation file train.json: annotation 2 of image 2 (2.jpg) '
        f'{problem}')


def test_an_unknown_category_is_named_and_all_problems_counted():
    data = coco([dict(category_id=7), dict(bbox=[float('nan')] * 4),
                 dict(bbox=[0, 0, -1, 5])])
    assert refusal(data) == (
        'annotation file train.json: annotation 1 of image 1 (1.jpg) has '
        "category_id 7, which is not among the file's categories (ids 1, 2)"
        "; add the category to 'categories' or fix the annotation (3 "
        'annotations have problems: 1 with a non-finite bbox, 1 with a '
        "negative width or height, 1 with a category_id not in "
        "'categories')")


def test_a_file_without_images():
    with pytest.raises(DataError, match=r"^annotation file test.json lists "
                       r"no images \('images' is empty\)"):
        summarize_coco(coco([], images=[]), 'test.json')


def test_drop_reasons_follow_mmdetection():
    data = coco([
        {},  # kept
        dict(ignore=1),
        dict(bbox=[200, 10, 20, 20]),  # right of the 100-wide image
        dict(bbox=[10, 10, 0.5, 20]),  # under one pixel wide
        dict(area=0.0),
        dict(bbox=[10, 10, 0, 20]),  # zero width: outside before small
        dict(category_id=2),
        dict(iscrowd=1),  # kept, as an ignored region
        dict(iscrowd=1, category_id=2),  # of a category left out first
    ])
    summary = summarize_coco(data, 'x.json')
    summary.set_classes(('a', ), [1])
    dropped = summary.dropped()
    assert dropped == {
        'marked ignore': 1, 'outside their image': 2,
        'narrower or lower than 1 pixel or of area <= 0': 2,
        "of categories not in the dataset's classes": 2,
        'crowd (iscrowd), kept as ignored regions': 1}
    assert list(dropped) == list(DROP_REASONS)


def test_classes_that_match_no_category():
    summary = summarize_coco(coco([{}]), 'x.json')
    with pytest.raises(DataError, match=r"^annotation file x.json: none of "
                       r"the dataset's 2 classes \('cat', 'dog'\) is a "
                       r"category name in it \(its categories: 'a', 'b'\)"):
        summary.set_classes(('cat', 'dog'), [])


def test_counts_agree_with_a_built_dataset(tmp_path):
    # random boxes, some outside, tiny, crowd or ignored: the instances
    # MMDetection trains on (crowd ones it keeps as ignored regions) are
    # exactly those not counted as left out
    rng = np.random.default_rng(0)
    n = 400
    boxes = np.round(rng.uniform(-30, 110, (n, 4)) *
                     [1, 1, 0.4, 0.4], 1)
    boxes[:, 2:] = np.abs(boxes[:, 2:])
    anns = [dict(bbox=b.tolist(), image_id=int(rng.integers(1, 3)),
                 category_id=int(rng.integers(1, 3)),
                 area=float(rng.choice([0.0, 50.0, 50.0, 50.0])),
                 iscrowd=int(rng.random() < 0.1),
                 ignore=int(rng.random() < 0.1)) for b in boxes]
    ann_file = tmp_path / 'ann.json'
    ann_file.write_text(json.dumps(coco(anns)))
    register_all_modules(init_default_scope=False)
    with checking_coco_files() as summaries:
        dataset = CocoDataset(ann_file=str(ann_file), metainfo=dict(
            classes=('a', )), pipeline=[], data_prefix=dict(img=''))
    kept = sum(not instance['ignore_flag'] for i in range(len(dataset))
               for instance in dataset.get_data_info(i)['instances'])
    dropped = summaries[0].dropped()
    assert sum(dropped.values()) > 100 and len(dropped) == 5
    assert kept == n - sum(dropped.values())
    # the class attribute is mmdet's own again
    assert CocoDataset.COCOAPI.__name__ == 'COCO'


def test_the_runner_names_a_nan_box_and_logs_the_counts(shapes_data,
                                                        tmp_path):
    ann = json.loads(
        (shapes_data / 'annotations' / 'instances_train.json').read_text())
    loader = dict(
        batch_size=1, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='CocoDataset', data_root=str(shapes_data),
                     ann_file=str(tmp_path / 'ann.json'),
                     data_prefix=dict(img='train/'),
                     metainfo=dict(classes=('circle', 'rectangle',
                                            'triangle')),
                     filter_cfg=dict(filter_empty_gt=True), pipeline=[]))
    register_all_modules(init_default_scope=True)
    logger = MMLogger.get_instance('annotation_counts')

    def logged_lines():
        records = []
        handler = logging.Handler()
        handler.emit = records.append
        logger.addHandler(handler)
        try:
            SafeRunner.build_dataloader(loader)
        finally:
            logger.removeHandler(handler)
        return [r.getMessage() for r in records]

    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    # a file it keeps whole is reported too
    assert (f'annotation file {tmp_path}/ann.json: MMDetection trains on all '
            f"its {len(ann['annotations'])} annotations and "
            f"{len(ann['images'])} images") in logged_lines()
    ann['annotations'][0]['iscrowd'] = 0
    ann['annotations'][0]['ignore'] = 1
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    assert (f'annotation file {tmp_path}/ann.json: MMDetection leaves out '
            f"1 of its {len(ann['annotations'])} annotations (1 marked "
            'ignore)') in logged_lines()

    ann['annotations'][1]['bbox'][0] = float('nan')
    (tmp_path / 'ann.json').write_text(json.dumps(ann))
    first = ann['annotations'][1]
    with pytest.raises(DataError, match=r'^annotation file .*ann.json: '
                       f"annotation {first['id']} of image "
                       f"{first['image_id']} "):
        SafeRunner.build_dataloader(loader)


def test_a_training_set_that_filtering_empties(tmp_path):
    # images, but no annotation of the classes: filter_empty_gt leaves
    # nothing, which MMEngine answered with NumPy's "need at least one array
    # to concatenate"
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(coco([dict(bbox=[10, 10, 0.5, 20])])))
    loader = dict(
        batch_size=1, num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(type='CocoDataset', ann_file=str(ann),
                     data_prefix=dict(img=str(tmp_path)),
                     metainfo=dict(classes=('b', )),
                     filter_cfg=dict(filter_empty_gt=True), pipeline=[]))
    register_all_modules(init_default_scope=True)
    with pytest.raises(DataError) as err:
        SafeRunner.build_dataloader(loader)
    assert str(err.value) == (
        f"annotation file {ann}: no image of its 2 is left after "
        "MMDetection's filter_cfg (filter_empty_gt drops images without "
        "annotations of the dataset's classes, min_size small ones): 0 of "
        'its 1 annotations are usable, 1 narrower or lower than 1 pixel or '
        "of area <= 0; check the file, the dataset's classes and filter_cfg")
