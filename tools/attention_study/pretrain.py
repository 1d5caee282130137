"""The transfer study's "ImageNet": a plain ResNet pretrained on a
generated classification task, saved as an MMDetection ``ResNet``
checkpoint.

MMDetection's detectors start from ImageNet weights of a network without
attention, and ECA's released ImageNet weights cover few backbones. To
study ECA inserted into such weights, this trains MMDetection's own
``ResNet`` (no attention) on a task other than detection: 64 x 64 images of
one shape each from the demo's generator
(:func:`demo_utils.shapes.make_image`), labelled with its class and whether
it is large or small (6 classes): whole-image classification of shape and
scale, where the detector must localise. The images are normalised as the
detector's data preprocessor normalises them (RGB, the ImageNet mean and
std), so the features carry over. The file holds
``{'state_dict', 'meta'}`` with the backbone's names only, like a converted
ImageNet checkpoint, for ``init_cfg=dict(type='Pretrained', ...)``.
"""
import copy
import time
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmdet.registry import MODELS

from demo_utils.shapes import CLASSES, make_image
from mmdet_eca.fileio import atomic_path

MEAN = (123.675, 116.28, 103.53)  # RGB, MMDetection's ImageNet values
STD = (58.395, 57.12, 57.375)
NUM_CLASSES = 2 * len(CLASSES)


def classification_set(num_images: int, size: int,
                       seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Normalised images [N, 3, size, size] (RGB) and labels [N].

    The label is ``2 * class + (diameter above the middle of the range)``
    of the image's one shape.
    """
    rng = np.random.default_rng([seed, 7])
    images = np.empty((num_images, size, size, 3), np.uint8)
    labels = np.empty(num_images, np.int64)
    small, large = size // 6, size // 2
    for i in range(num_images):
        image, [(cls, mask)] = make_image(rng, size, 1, small, large)
        # the diameter from the area, as if a disc: classes differ little
        # in area at one size, much less than small from large
        diameter = 2 * np.sqrt(mask.sum() / np.pi)
        images[i] = image[..., ::-1]  # BGR -> RGB
        labels[i] = 2 * cls + (diameter > (small + large) / 2)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(
        1, 3, 1, 1)
    return x, torch.from_numpy(labels)


class Classifier(nn.Module):
    """A backbone, global average pooling of its last stage, a linear
    head."""

    def __init__(self, backbone: nn.Module, channels: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(channels, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x)[-1].mean((2, 3)))


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        hits = sum((model(x[i:i + 256]).argmax(1) == y[i:i + 256]).sum()
                   for i in range(0, len(x), 256))
    return float(hits) / len(x)


def pretrain_backbone(backbone_cfg: Dict,
                      out_file: str,
                      num_train: int = 4000,
                      num_val: int = 500,
                      size: int = 64,
                      epochs: int = 4,
                      batch_size: int = 64,
                      seed: int = 0) -> Dict:
    """Train a plain ``ResNet`` on the generated task and save its weights.

    Args:
        backbone_cfg (dict): MMDetection ``ResNet`` config (depth, widths);
            trained with batch statistics, nothing frozen, 4 output stages.
        out_file (str): Checkpoint to write (atomically).
        num_train (int): Training images. Defaults to 4000.
        num_val (int): Held-out images for the accuracy. Defaults to 500.
        size (int): Image side. Defaults to 64.
        epochs (int): Passes over the training images. Defaults to 4.
        batch_size (int): Images per step. Defaults to 64.
        seed (int): Seed of data, initialisation and order. Defaults to 0.

    Returns:
        dict: The ``meta`` saved with the weights: accuracies, seconds.
    """
    start = time.time()
    torch.manual_seed(seed)
    cfg = dict(copy.deepcopy(backbone_cfg), type='ResNet', frozen_stages=-1,
               norm_eval=False, init_cfg=None)
    cfg['norm_cfg'] = dict(type='BN', requires_grad=True)
    backbone = MODELS.build(cfg)
    backbone.init_weights()
    channels = backbone.feat_dim
    model = Classifier(backbone, channels)
    x, y = classification_set(num_train, size, seed)
    x_val, y_val = classification_set(num_val, size, seed + 1000)
    steps = epochs * max(1, num_train // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3,
                                  weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    step = 0
    for _ in range(epochs):
        model.train()
        order = torch.randperm(num_train, generator=generator)
        for i in range(0, num_train - batch_size + 1, batch_size):
            if step == steps:
                break
            idx = order[i:i + batch_size]
            batch = x[idx]
            # flips, as the detector's pipeline flips
            if torch.rand(1, generator=generator) < 0.5:
                batch = batch.flip(3)
            loss = nn.functional.cross_entropy(model(batch), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
    meta = dict(
        task=f'{NUM_CLASSES}-class generated shapes, {size} px, '
        f'{num_train} images, {epochs} epochs',
        train_accuracy=_accuracy(model, x, y),
        val_accuracy=_accuracy(model, x_val, y_val),
        chance=1 / NUM_CLASSES,
        seconds=time.time() - start,
        backbone=cfg)
    with atomic_path(out_file) as tmp:
        torch.save(dict(state_dict=backbone.state_dict(), meta=meta), tmp)
    return meta
