"""The transfer study (``tools/compare_attention.py --transfer``): the ECA
paper's claim, that detection gains come from an ECA-pretrained backbone,
in miniature.

1. A ResNet-18 is pretrained on a generated classification task
   (:mod:`.classification_task`), the stand-in for ImageNet, three times:
   plain, with SE and with ECA. Each pretraining is a config inheriting
   mmpretrain's own ``resnet18_8xb32_in1k`` recipe with the backbone, data
   and schedule changed, run by mmpretrain's ``tools/train.py``; each is
   kept in the work dir.
2. The study's detector (``configs/transfer/...``: Faster R-CNN, frozen
   stem and stage 1, frozen BatchNorm statistics, as MMDetection
   fine-tunes) starts from one of them through ``init_cfg=dict(type=
   'Pretrained', prefix='backbone.')``, the way a user starts from an
   mmpretrain checkpoint: ``none`` from the plain backbone, ``eca-identity``
   (ECA inserted as the identity) from the plain backbone, ``eca`` from the
   ECA-pretrained one, ``se`` from the SE-pretrained one.
"""
import json
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmengine.config import Config

from demo_utils import generate_shapes_dataset, shrink_config, use_shapes_data
from .classification_task import (CLASS_NAMES, NUM_CLASSES,
                                  write_classification_task)
from .eca_weights import class_mean_weights, plot_class_weights
from .mmpretrain_runs import data_override, run_mmpretrain_train, write_config
from .summary import format_paired, paired_difference
from .variants import variant_backbone

TRANSFER_CONFIG = (
    'configs/transfer/faster-rcnn_r18-eca-identity_fpn_shapes_transfer.py')
# The detection task: fewer images than the demo and a short fine-tuning,
# 5 epochs of 60 iterations validated after each.
TRANSFER_DATA = dict(num_train=480, num_val=200, image_size=128, seed=3)
TRANSFER_EPOCHS = 5
# the curves' close-up of the loss: the warm-up, where the start matters
TRANSFER_EARLY_ITERS = 100
# which pretrained backbone each fine-tuning variant starts from
PRETRAINED_KIND = {'none': 'none', 'eca-identity': 'none', 'eca': 'eca',
                   'se': 'se'}
PRETRAIN_RECIPE = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
PRETRAIN = dict(num_train=3000, num_val=600, size=64, epochs=12,
                batch_size=64)
QUICK_PRETRAIN = dict(num_train=32, num_val=12, size=32, epochs=1,
                      batch_size=8)


def pretrain_backbone_cfg(cfg: Config, kind: str) -> Dict:
    """The classifier's backbone for ``kind`` (none, se, eca): the study
    detector's backbone in that variant, trained whole (nothing frozen,
    batch statistics), its last stage out, in MMDetection's scope."""
    backbone = variant_backbone(cfg.model.backbone.to_dict(), kind)
    for key in ('init_cfg', 'frozen_stages', 'norm_eval', 'out_indices'):
        backbone.pop(key, None)
    backbone.update(type='mmdet.' + backbone['type'], out_indices=(3, ),
                    frozen_stages=-1, norm_eval=False)
    return backbone


def pretrain_config(cfg: Config, kind: str, folders: Dict, settings: Dict,
                    out_file: str) -> str:
    """Write the pretraining config of ``kind``: mmpretrain's ResNet-18
    recipe with the study's backbone, data, head and schedule."""
    from mmdet.models.backbones import ResNet
    backbone = pretrain_backbone_cfg(cfg, kind)
    block = ResNet.arch_settings[backbone['depth']][0]
    width = backbone.get('base_channels', 64) * 8 * block.expansion
    epochs = settings['epochs']
    entries = dict(
        custom_imports=dict(
            imports=['mmdet_eca', 'attention_study.backbones'],
            allow_failed_imports=False),
        model=dict(backbone=dict(backbone, _delete_=True),
                   head=dict(num_classes=NUM_CLASSES, in_channels=width,
                             topk=(1, ))),
        data_preprocessor=dict(num_classes=NUM_CLASSES),
        # AdamW with warm-up and cosine decay: the recipe's SGD steps are
        # for 100 ImageNet epochs
        optim_wrapper=dict(_delete_=True, optimizer=dict(
            type='AdamW', lr=2e-3, weight_decay=0.05)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.01, by_epoch=False,
                 begin=0, end=30),
            dict(type='CosineAnnealingLR', by_epoch=True, begin=0,
                 end=epochs, T_max=epochs, eta_min=1e-5)],
        train_cfg=dict(max_epochs=epochs,
                       val_interval=max(1, epochs // 4)),
        default_hooks=dict(checkpoint=dict(interval=epochs),
                           logger=dict(interval=10)),
        randomness=dict(seed=0),
        # no rescaling crops: the label says whether the shape is large
        **data_override(folders['train'], settings['size'],
                        settings['batch_size'], folders['val'], crop=False))
    return write_config(out_file, PRETRAIN_RECIPE, entries)


def read_accuracy(work_dir: str) -> list:
    """(epoch, top-1) of every validation of a finished mmpretrain run."""
    runs = sorted(d for d in os.listdir(work_dir) if d[:1].isdigit())
    path = osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [(r['step'], r['accuracy/top1'] / 100) for r in records
            if 'accuracy/top1' in r]


def pretrained_backbones(cfg: Config, work_dir: str, repo: str,
                         quick: bool, kinds, jobs: int = 1,
                         threads: Optional[int] = None) -> Dict[str, Dict]:
    """Per kind, the pretrained classifier's checkpoint and accuracies;
    trained if absent.

    Returns:
        dict: kind -> ``checkpoint``, ``accuracy`` (epoch, top-1 on the
        val images), ``task``, ``chance``.
    """
    settings = QUICK_PRETRAIN if quick else PRETRAIN
    folders = write_classification_task(
        osp.join(work_dir, 'classification'), settings['num_train'],
        settings['num_val'], settings['size'])

    def pretrain(kind):
        run_dir = osp.join(work_dir, 'pretrained', kind)
        done = osp.join(run_dir, 'last_checkpoint')
        if not osp.isfile(done):
            config = pretrain_config(cfg, kind, folders, settings,
                                     osp.join(run_dir, 'config.py'))
            print(f'pretraining the {kind} backbone with mmpretrain ...',
                  flush=True)
            run_mmpretrain_train(config, run_dir,
                                 osp.join(run_dir, 'pretrain.log'), repo,
                                 threads=threads)
        with open(done) as f:
            checkpoint = f.read().strip()
        accuracy = read_accuracy(run_dir)
        print(f'  {kind}: val top-1 {accuracy[-1][1]:.3f} (chance '
              f'{1 / NUM_CLASSES:.3f}): {checkpoint}', flush=True)
        return kind, dict(checkpoint=checkpoint, accuracy=accuracy,
                          task=folders['task'], chance=1 / NUM_CLASSES)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(pool.map(pretrain, sorted(set(kinds))))


def transfer_config(cfg: Config, work_dir: str, quick: bool,
                    quick_data: Dict) -> None:
    """Point ``cfg`` at the transfer data (its backbone's checkpoint is
    set per variant, :data:`PRETRAINED_KIND`).

    Args:
        cfg (Config): The study's config, changed in place.
        work_dir (str): The study's folder (the data is kept in it).
        quick (bool): Tiny data, for tests.
        quick_data (dict): :func:`generate_shapes_dataset` arguments of
            the quick mode.
    """
    data = dict(quick_data if quick else TRANSFER_DATA)
    data_root = osp.join(work_dir, 'data')
    if quick or not osp.isfile(
            osp.join(data_root, 'annotations', 'instances_val.json')):
        generate_shapes_dataset(data_root, **data)
    use_shapes_data(cfg, data_root)
    if quick:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].batch_size = 4
        shrink_config(cfg, data['image_size'])


def variant_init_cfg(variant: str, pretrained: Dict[str, Dict]) -> Dict:
    """The backbone ``init_cfg`` of a fine-tuning variant."""
    return dict(type='Pretrained',
                checkpoint=pretrained[PRETRAINED_KIND[variant]]['checkpoint'],
                prefix='backbone.')


# (a, b): the paired differences the study reports, the paper's claim first
PAIRS = (('eca', 'none'), ('eca', 'eca-identity'), ('eca', 'se'),
         ('se', 'none'), ('eca-identity', 'none'))
# the ImageNet normalisation of mmpretrain's ResNet recipes, RGB
MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


def read_folder(folder: str):
    """Normalised RGB images [N, 3, H, W] and labels of an image folder."""
    import cv2
    import torch
    images, labels = [], []
    for label, name in enumerate(sorted(os.listdir(folder))):
        for file in sorted(os.listdir(osp.join(folder, name))):
            images.append(cv2.imread(osp.join(folder, name, file))[..., ::-1])
            labels.append(label)
    x = torch.from_numpy(np.stack(images).copy()).permute(0, 3, 1, 2).float()
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(
        1, 3, 1, 1)
    return x, torch.tensor(labels)


def eca_weights_figure(cfg: Config, checkpoint: str, val_folder: str,
                       out_file: str) -> None:
    """The ECA-pretrained backbone's channel weights per class, drawn."""
    import torch
    from mmdet.registry import MODELS
    backbone = pretrain_backbone_cfg(cfg, 'eca')
    backbone['type'] = backbone['type'].split('.', 1)[1]
    model = MODELS.build(backbone)
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    model.load_state_dict({k[len('backbone.'):]: v for k, v in state.items()
                           if k.startswith('backbone.')}, strict=True)
    images, labels = read_folder(val_folder)
    means = class_mean_weights(model, images, labels, NUM_CLASSES)
    plot_class_weights(
        means, CLASS_NAMES, out_file,
        f'ECA weights of the ECA-pretrained ResNet, mean over the '
        f'{len(labels)} val images of each class')


def transfer_report(results, variants, pretrained: Dict[str, Dict],
                    cfg: Config, work_dir: str) -> Tuple[str, List[str]]:
    """The study's notes on pretraining, its paired tests, and the ECA
    weights figure (written when ECA was pretrained).

    Returns:
        tuple: A sentence for the notes, and Markdown lines to append.
    """
    accuracies = ', '.join(
        f"{kind} {info['accuracy'][-1][1]:.3f}"
        for kind, info in sorted(pretrained.items()))
    info = next(iter(pretrained.values()))
    notes = (f"; backbones pretrained with mmpretrain ({PRETRAIN_RECIPE}, "
             f"AdamW) on {info['task']}: val top-1 {accuracies} (chance "
             f"{info['chance']:.3f}), none and eca-identity start from "
             'the plain one, eca from the ECA one, se from the SE one')
    pairs = [paired_difference(results, a, b) for a, b in PAIRS
             if a in variants and b in variants]
    lines = ['', 'Paired differences (same seed, same data order):', '']
    lines += format_paired(pairs)
    if 'eca' in pretrained:
        folder = osp.join(work_dir, 'classification', 'val')
        eca_weights_figure(cfg, pretrained['eca']['checkpoint'], folder,
                           osp.join(work_dir, 'eca_weights.png'))
        lines += ['', 'ECA weights per class: eca_weights.png']
    return notes, lines
