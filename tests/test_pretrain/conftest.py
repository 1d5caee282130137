"""Each configs/mmpretrain/ recipe trained for two iterations on tiny
generated images by mmpretrain's own tools/train.py, once per session."""
import os.path as osp

import numpy as np
import pytest

from attention_study.mmpretrain_runs import (class_folders, data_override,
                                             run_mmpretrain_train,
                                             write_config, write_image_folder)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IMAGE_SIZE = 32


@pytest.fixture(scope='session')
def tiny_images(tmp_path_factory):
    """Four 32 x 32 images in two class folders."""
    rng = np.random.default_rng(0)
    root = str(tmp_path_factory.mktemp('imagenet') / 'train')
    classes, _ = class_folders(2)
    images = rng.integers(0, 256, (4, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
    write_image_folder(root, images, [0, 1, 0, 1], classes)
    return root


@pytest.fixture(scope='session')
def pretrained(tiny_images, tmp_path_factory):
    """``pretrained(config)``: the checkpoint of
    ``configs/mmpretrain/<config>`` after one epoch (two iterations of two
    images), trained once."""
    done = {}

    def train(config):
        if config not in done:
            work = tmp_path_factory.mktemp(config.split('_')[0])
            entries = data_override(tiny_images, IMAGE_SIZE, batch_size=2)
            entries.update(
                train_cfg=dict(max_epochs=1),
                # two images per step: the recipes' lr diverges to NaN
                optim_wrapper=dict(optimizer=dict(lr=1e-4)),
                # the recipe's hooks (RegNet's precise BN over 8192 images)
                custom_hooks=[],
                default_hooks=dict(logger=dict(interval=1)))
            tiny = write_config(
                str(work / 'tiny.py'),
                osp.join(REPO, 'configs', 'mmpretrain', config), entries)
            done[config] = run_mmpretrain_train(
                tiny, str(work / 'run'), str(work / 'train.log'), REPO,
                threads=1)
        return done[config]

    return train
