"""What the demo trains on: its config and its generated dataset."""
import os.path as osp

from mmengine.config import Config

from .shapes import CLASSES

DEMO_CONFIG = 'configs/demo/mask_rcnn_ecanet18_fpn_shapes_demo.py'
# generate_shapes_dataset's arguments for the demo, and where it goes (the
# demo config's data_root, relative to the repository)
DEMO_DATA = dict(root='data/demo_shapes', num_train=2800, num_val=400,
                 image_size=128, seed=0)


def inner_dataset(dataset):
    """The dataset config that reads the files: ``dataset`` itself, or the
    one a wrapper holds (YOLOX's ``MultiImageMixDataset``, a
    ``RepeatDataset``)."""
    while 'dataset' in dataset:
        dataset = dataset.dataset
    return dataset


def use_shapes_data(cfg: Config, data_root: str) -> Config:
    """Point ``cfg``'s train/val/test data and evaluators at a dataset
    written by :func:`generate_shapes_dataset` (in place; returned).

    Args:
        cfg (Config): A COCO-style detection config.
        data_root (str): The generated dataset's folder.

    Returns:
        Config: ``cfg``.
    """
    for split, key in (('train', 'train_dataloader'),
                       ('val', 'val_dataloader'), ('val', 'test_dataloader')):
        dataset = inner_dataset(cfg[key].dataset)
        dataset.data_root = data_root
        dataset.ann_file = f'annotations/instances_{split}.json'
        dataset.data_prefix = dict(img=f'{split}/')
        dataset.metainfo = dict(classes=CLASSES)
    ann = osp.join(data_root, 'annotations', 'instances_val.json')
    cfg.val_evaluator.ann_file = ann
    cfg.test_evaluator.ann_file = ann
    return cfg
