"""Checks of a config's files before a run starts.

A missing dataset otherwise surfaces as a traceback from deep inside a
data loader worker, and a missing pretrained checkpoint only after the model
is built; these name the path that was looked for and what to do instead.
"""
import os.path as osp
from typing import Iterator, Tuple

from mmengine.config import Config

COCO_HINT = ('COCO 2017 is expected as data/coco/annotations/'
             'instances_{train,val}2017.json with the images in '
             'data/coco/train2017/ and data/coco/val2017/ (download it from '
             'the COCO website, or point the config at your copy with '
             '--cfg-options or data_root)')
_REMOTE = ('http://', 'https://', 'torchvision://', 'open-mmlab://',
           'mmcls://', 'modelzoo://', 's3://')


class MissingFileError(FileNotFoundError):
    """A file or folder named in the config does not exist."""


def _datasets(cfg, key: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, dataset cfg)`` of a dataloader, unwrapping wrappers
    such as RepeatDataset and ConcatDataset."""
    loader = cfg.get(key)
    if not loader or 'dataset' not in loader:
        return
    stack = [(f'{key}.dataset', loader['dataset'])]
    while stack:
        name, dataset = stack.pop()
        if 'datasets' in dataset:
            stack.extend((f'{name}.datasets[{i}]', d)
                         for i, d in enumerate(dataset['datasets']))
        elif 'dataset' in dataset:
            stack.append((f'{name}.dataset', dataset['dataset']))
        else:
            yield name, dataset


def check_data(cfg: Config, loaders=('train_dataloader', 'val_dataloader',
                                     'test_dataloader')) -> None:
    """Raise :class:`MissingFileError` for the first missing annotation
    file or image folder of the given dataloaders (and their evaluators)."""
    for key in loaders:
        for name, dataset in _datasets(cfg, key):
            root = dataset.get('data_root') or ''
            ann = dataset.get('ann_file')
            if ann and not osp.isfile(osp.join(root, ann)):
                raise MissingFileError(
                    f'annotation file {osp.join(root, ann)} not found '
                    f'({name}.ann_file); {COCO_HINT}')
            prefix = (dataset.get('data_prefix') or {}).get('img')
            if prefix is not None and not osp.isdir(osp.join(root, prefix)):
                raise MissingFileError(
                    f'image folder {osp.join(root, prefix)} not found '
                    f'({name}.data_prefix.img); {COCO_HINT}')
        evaluator_key = key.replace('dataloader', 'evaluator')
        evaluators = cfg.get(evaluator_key) or []
        for evaluator in (evaluators if isinstance(evaluators, list) else
                          [evaluators]):
            ann = evaluator.get('ann_file')
            if ann and not osp.isfile(ann):
                raise MissingFileError(
                    f'annotation file {ann} not found '
                    f'({evaluator_key}.ann_file); {COCO_HINT}')


def check_pretrained(cfg: Config) -> None:
    """Raise :class:`MissingFileError` if the backbone's pretrained
    checkpoint is a local file that does not exist."""
    init_cfg = cfg.get('model', {}).get('backbone', {}).get('init_cfg')
    if not isinstance(init_cfg, dict) or init_cfg.get('type') != 'Pretrained':
        return
    path = init_cfg.get('checkpoint')
    if path and not path.startswith(_REMOTE) and not osp.isfile(path):
        raise MissingFileError(
            f'pretrained backbone checkpoint {path} not found '
            '(model.backbone.init_cfg.checkpoint): convert the official '
            'ImageNet weights with tools/convert_eca_weights.py (see '
            'README), or train from scratch with --cfg-options '
            'model.backbone.init_cfg=None')


def check_train_files(cfg: Config) -> None:
    """Everything ``tools/train.py`` reads before the first iteration."""
    loaders = ['train_dataloader']
    if cfg.get('val_cfg'):
        loaders.append('val_dataloader')
    check_data(cfg, loaders)
    check_pretrained(cfg)
    resume_from = cfg.get('load_from')
    if resume_from and not osp.isfile(resume_from) and \
            not resume_from.startswith(_REMOTE):
        raise MissingFileError(f'checkpoint {resume_from} not found '
                               '(--resume / load_from)')


def check_test_files(cfg: Config) -> None:
    """Everything ``tools/test.py`` reads before the first image."""
    check_data(cfg, ['test_dataloader'])
    checkpoint = cfg.get('load_from')
    if checkpoint and not checkpoint.startswith(_REMOTE) and \
            not osp.isfile(checkpoint):
        raise MissingFileError(f'checkpoint {checkpoint} not found')
