"""Train a classifier config with mmpretrain's own ``tools/train.py`` on a
folder of generated images.

What a user runs (``python <mmpretrain>/.mim/tools/train.py CONFIG``), on
a small config that inherits the recipe and replaces only the data, the
image size and the schedule: the pretraining of the attention study, and
the tests of ``configs/mmpretrain/``.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from mmdet_eca.fileio import write_text_atomic
from .runs import study_env


def mmpretrain_tool(name: str = 'train') -> str:
    """Path of mmpretrain's ``tools/<name>.py`` inside its package.

    Raises:
        ImportError: If mmpretrain is not installed (``pip install
            mmdet-eca[pretrain]``).
    """
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools',
                    f'{name}.py')


def write_image_folder(root: str, images: Iterable[np.ndarray],
                       labels: Iterable[int], classes: Sequence[str]) -> None:
    """Save images as ``root/<class>/<index>.png``, the folder layout
    mmpretrain's ``CustomDataset`` reads without an annotation file.

    The images go into a temporary folder beside ``root``, renamed to
    ``root`` when complete: an interrupted run leaves no partial dataset.

    Args:
        root (str): Folder to create; must not exist.
        images (Iterable[np.ndarray]): [H, W, 3] uint8 images, BGR.
        labels (Iterable[int]): Class index of each image.
        classes (Sequence[str]): Class names; sorted, as the dataset sorts
            its folders, they must keep this order.
    """
    import cv2
    if list(classes) != sorted(classes):
        raise ValueError(f'class names {list(classes)} must be sorted: '
                         "mmpretrain's CustomDataset numbers the folders "
                         'in sorted order')
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(root)}.', dir=parent)
    try:
        for name in classes:
            os.makedirs(osp.join(tmp, name))
        for index, (image, label) in enumerate(zip(images, labels)):
            path = osp.join(tmp, classes[label], f'{index:05d}.png')
            if not cv2.imwrite(path, image):
                raise OSError(f'{path}: could not be written')
        os.rename(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def data_override(data_root: str, image_size: int, batch_size: int,
                  val_root: Optional[str] = None,
                  crop: bool = True) -> Dict[str, object]:
    """Config entries that train (and validate) on image folders.

    The recipe's samplers (RSB's repeated augmentation) and pipelines
    (224 px crops) are replaced; its model, optimizer and schedule stay.
    ``crop=False`` trains on the whole images with flips only, for labels
    that a rescaling crop would change (the study's large/small shapes).
    """
    pipeline = [dict(type='LoadImageFromFile')]
    if crop:
        pipeline.append(dict(type='RandomResizedCrop', scale=image_size,
                             crop_ratio_range=(0.64, 1.0)))
    pipeline += [dict(type='RandomFlip', prob=0.5, direction='horizontal'),
                 dict(type='PackInputs')]
    entries = dict(train_dataloader=dict(
        batch_size=batch_size, num_workers=0, persistent_workers=False,
        sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
        dataset=dict(_delete_=True, type='CustomDataset',
                     data_root=data_root, pipeline=pipeline)))
    if val_root is None:
        entries.update(val_dataloader=None, val_cfg=None, val_evaluator=None,
                       test_dataloader=None, test_cfg=None,
                       test_evaluator=None)
    else:
        test_pipeline = [dict(type='LoadImageFromFile'),
                         dict(type='Resize', scale=image_size),
                         dict(type='PackInputs')]
        entries.update(
            val_dataloader=dict(
                batch_size=batch_size, num_workers=0,
                persistent_workers=False,
                sampler=dict(_delete_=True, type='DefaultSampler',
                             shuffle=False),
                dataset=dict(_delete_=True, type='CustomDataset',
                             data_root=val_root, pipeline=test_pipeline)),
            val_evaluator=dict(_delete_=True, type='Accuracy', topk=(1, )),
            test_dataloader=None, test_cfg=None, test_evaluator=None)
    return entries


def write_config(path: str, base: str, entries: Dict[str, object]) -> str:
    """Write a config that inherits ``base`` and sets ``entries``
    (atomically); returns ``path``."""
    if '::' not in base:  # a file, not a package's 'pkg::folder/file.py'
        base = osp.abspath(base)
    lines = [f'_base_ = {base!r}']
    lines += [f'{key} = {value!r}' for key, value in entries.items()]
    write_text_atomic(path, '\n'.join(lines) + '\n')
    return path


def run_mmpretrain_train(config: str, work_dir: str, log_file: str,
                         repo: str, cfg_options: Sequence[str] = (),
                         threads: Optional[int] = None) -> str:
    """``python <mmpretrain>/.mim/tools/train.py config --work-dir ...``,
    with the checkout ``repo`` and its ``tools/`` (the study's SE backbone)
    importable, and ``threads`` compute threads if given.

    Returns:
        str: The last checkpoint the run wrote.

    Raises:
        RuntimeError: If the run fails: one line with its last line and
            where its log is.
    """
    command = [sys.executable, mmpretrain_tool('train'), config,
               '--work-dir', work_dir]
    if cfg_options:
        command += ['--cfg-options'] + list(cfg_options)
    os.makedirs(work_dir, exist_ok=True)
    with open(log_file, 'w') as log:
        proc = subprocess.run(command, env=study_env(repo, threads),
                              stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log_file) as f:
            lines = [line.strip() for line in f if line.strip()]
        raise RuntimeError(
            f"mmpretrain's tools/train.py failed on {config} (exit status "
            f"{proc.returncode}): {(lines or ['(no output)'])[-1]} (full "
            f'log: {log_file})')
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def class_folders(num_classes: int) -> Tuple[List[str], int]:
    """Sorted folder names for ``num_classes`` classes, and the width of
    their number."""
    width = len(str(num_classes - 1))
    return [f'class{i:0{width}d}' for i in range(num_classes)], width
