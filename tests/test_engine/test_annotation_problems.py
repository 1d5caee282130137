"""What in a COCO file cannot be what its author meant is refused in one
line naming the file, the annotation and its image, with the count of
every annotation of each problem; its valid neighbours pass."""
import pytest

from mmdet_eca.engine.annotation_check import summarize_coco
from mmdet_eca.errors import DataError
from .helpers import coco, refusal

FIRST = 'annotation file train.json: annotation 2 of image 2 (2.jpg) '
POLYGON = ('expected each polygon as a list [x1, y1, x2, y2, x3, y3, ...] '
           'of at least 3 points; fix or remove the polygon')


@pytest.mark.parametrize('bad, problem', [
    (dict(bbox=['3', '3', '10', '10']), 'has bbox ["3", "3", "10", "10"]: '
     'expected 4 numbers [x, y, width, height]; fix or remove the '
     'annotation'),
    (dict(bbox=[3, 3, None, 10]), 'has bbox [3, 3, null, 10]: expected 4 '
     'numbers'),
    (dict(area='100'), 'has area "100": expected a number (its area in '
     'pixels); fix or remove the annotation'),
    (dict(area=None), 'has area null: expected a number'),
    (dict(segmentation=[[10, 10, 30, 10, 30, 30], [10, 10, 30, 30]]),
     f'has a segmentation polygon of 2 points ([10, 10, 30, 30]): {POLYGON}'),
    (dict(segmentation=[[10, 10, 30, 10, 30]]), 'has a segmentation polygon '
     f'of 5 numbers, an odd count ([10, 10, 30, 10, 30]): {POLYGON}'),
    (dict(segmentation=[10, 10, 30, 10, 30, 30]), 'has segmentation [10, 10, '
     f'30, 10, 30, 30], whose items are not polygons: {POLYGON}'),
],
                         ids=['string-bbox', 'null-bbox', 'string-area',
                              'null-area', 'two-points', 'odd', 'flat'])
def test_values_that_are_not_what_coco_expects(bad, problem):
    # valid neighbours around: an RLE crowd region, a triangle
    rle = dict(counts='PPYo0', size=[80, 100])
    data = coco([dict(segmentation=rle, iscrowd=1), dict(bad, image_id=2),
                 dict(bad), dict(segmentation=[[10, 10, 30, 10, 30, 30]])])
    message = refusal(data)
    assert message.startswith(FIRST + problem)
    # the first is named, all are counted, only they
    assert '; fix or remove the ' in message
    assert message.endswith(')') and ' (2 annotations have problems: 2 ' \
        in message


def test_an_annotation_without_area():
    data = coco([{}, dict(image_id=2)])
    del data['annotations'][1]['area']
    assert refusal(data) == FIRST + (
        'has no area: expected a number (its area in pixels); fix or remove '
        'the annotation')


@pytest.mark.parametrize('first_id', [1, 10**12], ids=['table', 'sorted'])
def test_an_annotation_of_an_image_the_file_does_not_list(first_id):
    # ids about as many as the images are looked up in a table, others by
    # sorting: both find the image, or that there is none
    images = [dict(id=first_id, file_name='1.jpg', width=100, height=80),
              dict(id=2, file_name='2.jpg', width=100, height=80)]
    data = coco([dict(image_id=first_id), dict(image_id=9),
                 dict(image_id=9, bbox=[0, 0, -1, 1]), dict(image_id=2)],
                images=images)
    assert refusal(data) == (
        'annotation file train.json: annotation 2 of image 9 has image_id 9, '
        f"which is not among the file's images (ids {first_id}, 2), so it is "
        "never read; add the image to 'images' or fix the annotation (2 "
        'annotations have problems: 1 with a negative width or height, 2 of '
        "an image_id not in 'images')")


def test_two_images_with_one_id():
    images = [dict(id=1, file_name='1.jpg', width=100, height=80),
              dict(id=2, file_name='2.jpg', width=100, height=80),
              dict(id=1, file_name='3.jpg', width=100, height=80)]
    data = coco([{}, dict(image_id=2), {}], images=images)
    assert refusal(data) == (
        "annotation file train.json: image id 1 is given to 2 images "
        "('1.jpg', '3.jpg'): pycocotools keeps the last, and the annotations "
        'of the id (2: ids 1, 3) would all go to it; give each image its own '
        'id')
    images.extend([dict(id=2, file_name='4.jpg', width=1, height=1)])
    with pytest.raises(DataError, match=r'its own id \(1 more image ids are '
                       r'repeated\)$'):
        summarize_coco(data, 'train.json')


@pytest.mark.parametrize('valid', [
    dict(segmentation=[[10, 10, 30, 10, 30, 30]]),  # 3 points
    dict(segmentation=[[10, 10, 30, 10, 30, 30], [0, 0, 5, 0, 5, 5, 0, 5]]),
    dict(segmentation=dict(counts='PPYo0', size=[80, 100]), iscrowd=1),
    dict(segmentation=[]),
    dict(segmentation=None),
    dict(area=100),  # an int
    dict(bbox=(10, 10, 20.5, 20)),
],
                         ids=['triangle', 'two-polygons', 'rle', 'empty',
                              'null', 'int-area', 'tuple-bbox'])
def test_valid_neighbours_pass(valid):
    summary = summarize_coco(coco([{}, dict(valid, image_id=2)]), 'x.json')
    assert summary.num_images == 2 and len(summary.category_ids) == 2


def test_ids_that_are_not_integers():
    # pycocotools takes any hashable id; only a mismatch is refused
    images = [dict(id='a', file_name='a.jpg', width=100, height=80)]
    data = coco([dict(image_id='a')], images=images)
    assert summarize_coco(data, 'x.json').dropped() == {}
    data['annotations'][0]['image_id'] = 'b'
    with pytest.raises(DataError, match='has image_id "b", which is not '
                       r"among the file's images \(ids 'a'\)"):
        summarize_coco(data, 'x.json')
