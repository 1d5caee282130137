"""Checks of a config's files before a run starts.

A missing dataset otherwise surfaces as a traceback from deep inside a
data loader worker, and a missing pretrained checkpoint only after the model
is built; these name the path that was looked for and what to do instead.

Annotation files are parsed here only for validation and test sets: they
are small, and a broken one (no 'annotations', say) can load without an
error and give meaningless metrics. A broken training annotation file
(not JSON, not an object, no 'images' or 'categories', or, with
MMDetection's default ``filter_empty_gt``, no 'annotations') fails while
its dataset loads, and :class:`~.runner.SafeRunner` then names it (see
:func:`annotation_problem`), so COCO's 450 MB train file is parsed once.
The images a dataset lists are checked once it is built
(:mod:`.image_check`).
"""
import json
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from mmengine.config import Config

from ..checkpoint.io import folder_problem
from ..errors import CheckpointError, DataError, MissingFileError
from ..fileio import is_remote
from .annotation_check import NO_IMAGES

COCO_HINT = ('COCO 2017 is expected as data/coco/annotations/'
             'instances_{train,val}2017.json with the images in '
             'data/coco/train2017/ and data/coco/val2017/ (download it from '
             'the COCO website, or point the config at your copy with '
             '--cfg-options or data_root)')


DEMO_HINT = 'python tools/demo.py generates the demo dataset there'
DATA_HINT = ('point data_root, ann_file and data_prefix in the config (or '
             '--cfg-options) at your dataset')


def data_hint(path: str) -> str:
    """What to do about a missing dataset file at ``path``."""
    if 'coco' in path.lower():
        return COCO_HINT
    if 'demo_shapes' in path:
        return DEMO_HINT
    return DATA_HINT


def _datasets(cfg, key: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, dataset cfg)`` of a dataloader, unwrapping wrappers
    such as RepeatDataset and ConcatDataset."""
    loader = cfg.get(key)
    yield from _loader_datasets(loader, key)


def _loader_datasets(loader, key: str) -> Iterator[Tuple[str, dict]]:
    if not isinstance(loader, dict) or not isinstance(
            loader.get('dataset'), dict):
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
                    f'({name}.ann_file); {data_hint(osp.join(root, ann))}')
            prefix = (dataset.get('data_prefix') or {}).get('img')
            if prefix is not None and not osp.isdir(osp.join(root, prefix)):
                raise MissingFileError(
                    f'image folder {osp.join(root, prefix)} not found '
                    f'({name}.data_prefix.img); '
                    f'{data_hint(osp.join(root, prefix))}')
        evaluator_key = key.replace('dataloader', 'evaluator')
        evaluators = cfg.get(evaluator_key) or []
        for evaluator in (evaluators if isinstance(evaluators, list) else
                          [evaluators]):
            ann = evaluator.get('ann_file')
            if ann and not osp.isfile(ann):
                raise MissingFileError(
                    f'annotation file {ann} not found '
                    f'({evaluator_key}.ann_file); {data_hint(ann)}')


def check_checkpoint_path(path: Optional[str], what: str,
                          where: str = '') -> None:
    """Raise if a local checkpoint path is a folder or does not exist.

    Args:
        path (str, optional): The path (None, empty or remote: no check).
        what (str): What it is, to start the message (``'checkpoint'``).
        where (str): The flag or config entry, to end it; empty to leave
            that out.

    Raises:
        CheckpointError: ``"<what> <path> is a folder, not a checkpoint
            file; give a checkpoint file in it, such as ..."``.
        MissingFileError: ``"<what> <path> not found"``.
    """
    if not path or is_remote(path) or osp.isfile(path):
        return
    where = f' ({where})' if where else ''
    folder = folder_problem(path)
    if folder:
        raise CheckpointError(f'{what} {path} {folder}{where}')
    raise MissingFileError(f'{what} {path} not found{where}')


def check_pretrained(cfg: Config) -> None:
    """Raise :class:`MissingFileError` if the backbone's pretrained
    checkpoint is a local file that does not exist
    (:class:`CheckpointError` if it is a folder)."""
    init_cfg = cfg.get('model', {}).get('backbone', {}).get('init_cfg')
    if not isinstance(init_cfg, dict) or init_cfg.get('type') != 'Pretrained':
        return
    path = init_cfg.get('checkpoint')
    if path and not is_remote(path) and osp.isdir(path):
        check_checkpoint_path(path, 'pretrained backbone checkpoint',
                              'model.backbone.init_cfg.checkpoint')
    if path and not is_remote(path) and not osp.isfile(path):
        raise MissingFileError(
            f'pretrained backbone checkpoint {path} not found '
            '(model.backbone.init_cfg.checkpoint): convert the official '
            'ImageNet weights with tools/convert_eca_weights.py (see '
            'README), or train from scratch with --cfg-options '
            'model.backbone.init_cfg=None')


_COCO_KEYS = ('images', 'annotations', 'categories')
_COCO_EXPECTED = ("expected COCO JSON: an object with 'images', "
                  "'annotations' and 'categories' lists")


def _json_kind(value) -> str:
    return {dict: 'object', list: 'list', str: 'string'}.get(
        type(value), type(value).__name__)


def coco_problem(path: str, need_annotations: bool = True) -> Optional[str]:
    """What keeps ``path`` from being a COCO annotation file, or None.

    Args:
        path (str): A local annotation file.
        need_annotations (bool): Require ``'annotations'`` (not for
            image-info files such as COCO test-dev). Defaults to True.

    Returns:
        str | None: A phrase to follow the file name, e.g. ``"is not valid
        JSON (...)"``.
    """
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except json.JSONDecodeError as err:
        return (f'is not valid JSON ({err.msg} at line {err.lineno} column '
                f'{err.colno}); {_COCO_EXPECTED}')
    except UnicodeDecodeError:
        return f'is not a text file; {_COCO_EXPECTED}'
    except OSError as err:
        return f'cannot be read ({err.strerror})'
    if not isinstance(data, dict):
        return f'holds a JSON {_json_kind(data)}; {_COCO_EXPECTED}'
    needed = [k for k in _COCO_KEYS if need_annotations or k != 'annotations']
    missing = [k for k in needed if k not in data]
    if missing:
        keys = ', '.join(repr(k) for k in list(data)[:6]) or 'none'
        return (f"has no {' or '.join(repr(k) for k in missing)} (its keys: "
                f'{keys}); {_COCO_EXPECTED}')
    for key in needed:
        if not isinstance(data[key], list):
            return (f"has a JSON {_json_kind(data[key])} as '{key}'; "
                    f'{_COCO_EXPECTED}')
    if not data['images']:
        return NO_IMAGES
    return None


def _evaluators(cfg, key: str) -> List[dict]:
    evaluators = cfg.get(key) or []
    if isinstance(evaluators, dict) and 'metrics' in evaluators:
        evaluators = evaluators['metrics']  # an Evaluator wrapper
    if not isinstance(evaluators, (list, tuple)):
        evaluators = [evaluators]
    return [e for e in evaluators if isinstance(e, dict)]


def annotation_problem(loader: dict, key: str,
                       need_annotations: bool = True) -> Optional[str]:
    """The first unusable annotation file of a dataloader config, as a
    one-line message, or None.

    Args:
        loader (dict): A dataloader config (``train_dataloader``, ...).
        key (str): Its name, to say where the file comes from; empty
            to leave that out.
        need_annotations (bool): See :func:`coco_problem`.
    """
    for name, dataset in _loader_datasets(loader, key):
        ann = dataset.get('ann_file')
        if not ann:
            continue
        path = osp.join(dataset.get('data_root') or '', ann)
        if not is_remote(path) and osp.isfile(path):
            problem = coco_problem(path, need_annotations)
            if problem:
                where = f' ({name}.ann_file)' if key else ''
                return f'annotation file {path} {problem}{where}'
    return None


def evaluator_problem(evaluator: dict, key: str) -> Optional[str]:
    """Like :func:`annotation_problem`, for an evaluator config."""
    ann = evaluator.get('ann_file')
    if not ann or is_remote(ann) or not osp.isfile(ann):
        return None
    problem = coco_problem(ann, not evaluator.get('format_only', False))
    if problem:
        where = f' ({key}.ann_file)' if key else ''
        return f'annotation file {ann} {problem}{where}'
    return None


def check_annotation_format(cfg: Config, loaders=('val_dataloader',
                                                  'test_dataloader')) -> None:
    """Raise :class:`DataError` for the first annotation file of the given
    dataloaders (and their evaluators) that is not COCO JSON."""
    for key in loaders:
        evaluator_key = key.replace('dataloader', 'evaluator')
        evaluators = _evaluators(cfg, evaluator_key)
        format_only = any(e.get('format_only', False) for e in evaluators)
        problem = annotation_problem(cfg.get(key), key, not format_only)
        for evaluator in evaluators:
            problem = problem or evaluator_problem(evaluator, evaluator_key)
        if problem:
            raise DataError(problem)


def check_train_files(cfg: Config) -> None:
    """Everything ``tools/train.py`` reads before the first iteration."""
    loaders = ['train_dataloader']
    if cfg.get('val_cfg'):
        loaders.append('val_dataloader')
    check_data(cfg, loaders)
    check_annotation_format(cfg, loaders[1:])
    check_pretrained(cfg)
    check_checkpoint_path(cfg.get('load_from'), 'checkpoint',
                          '--resume / load_from')


def check_test_files(cfg: Config) -> None:
    """Everything ``tools/test.py`` reads before the first image."""
    check_data(cfg, ['test_dataloader'])
    check_annotation_format(cfg, ['test_dataloader'])
    check_checkpoint_path(cfg.get('load_from'), 'checkpoint')
