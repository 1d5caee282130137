"""The transfer study (``tools/compare_attention.py --transfer``): attention
inserted into a backbone pretrained without it, as MMDetection users do.

1. A plain ResNet-18 is pretrained on a generated classification task
   (:mod:`.pretrain`), the stand-in for ImageNet, once per work dir.
2. The study's detector (``configs/transfer/...``: Faster R-CNN, frozen
   stem and stage 1, frozen BatchNorm statistics, as MMDetection fine-tunes)
   loads it through ``init_cfg`` in every variant and is fine-tuned on the
   generated shapes: ``none`` (the plain network), ``eca`` (ECA inserted
   with the paper's gate and initialisation), ``eca-identity`` (inserted
   starting as the identity) and ``se`` (SE inserted, MMDetection's
   initialisation).
"""
import os.path as osp
from typing import Dict

from mmengine.config import Config

from demo_utils import generate_shapes_dataset, shrink_config, use_shapes_data
from .pretrain import pretrain_backbone

TRANSFER_CONFIG = (
    'configs/transfer/faster-rcnn_r18-eca-identity_fpn_shapes_transfer.py')
# The detection task: fewer images than the demo and a short fine-tuning,
# 5 epochs of 60 iterations validated after each, so that the early part
# of training, where the inserted attention's start matters, is seen.
TRANSFER_DATA = dict(num_train=480, num_val=200, image_size=128, seed=3)
TRANSFER_EPOCHS = 5
# the curves' close-up of the loss: the warm-up, where the start matters
TRANSFER_EARLY_ITERS = 100
PRETRAIN = dict(num_train=2400, num_val=500, size=64, epochs=6)
QUICK_PRETRAIN = dict(num_train=64, num_val=16, size=32, epochs=1,
                      batch_size=16)


def pretrained_backbone(cfg: Config, work_dir: str, quick: bool) -> Dict:
    """The pretrained plain backbone's file and meta; trained if absent.

    Args:
        cfg (Config): The study's config; its backbone's depth and widths
            are pretrained.
        work_dir (str): The study's folder; the file is kept there and
            reused by later runs of the study.
        quick (bool): A seconds-long pretraining (for tests).

    Returns:
        dict: ``checkpoint`` (path) and ``meta`` (accuracies, seconds).
    """
    import torch
    path = osp.join(work_dir, 'pretrained', 'plain_resnet.pth')
    if osp.isfile(path):
        meta = torch.load(path, map_location='cpu', weights_only=True)['meta']
        print(f'pretrained plain backbone: {path} (kept)', flush=True)
        return dict(checkpoint=path, meta=meta)
    backbone = {
        k: v
        for k, v in cfg.model.backbone.items()
        if k in ('depth', 'base_channels', 'stem_channels')
    }
    print('pretraining the plain backbone on the generated classification '
          'task ...', flush=True)
    meta = pretrain_backbone(backbone, path,
                             **(QUICK_PRETRAIN if quick else PRETRAIN))
    print(f"  val accuracy {meta['val_accuracy']:.3f} (chance "
          f"{meta['chance']:.3f}), {meta['seconds']:.0f} s: {path}",
          flush=True)
    return dict(checkpoint=path, meta=meta)


def transfer_config(cfg: Config, work_dir: str, quick: bool,
                    quick_data: Dict) -> Dict:
    """Point ``cfg`` at the transfer data and the pretrained backbone.

    Args:
        cfg (Config): The study's config, changed in place.
        work_dir (str): The study's folder (data and backbone are kept in
            it).
        quick (bool): Tiny data and pretraining, for tests.
        quick_data (dict): :func:`generate_shapes_dataset` arguments of
            the quick mode.

    Returns:
        dict: See :func:`pretrained_backbone`.
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
    pretrained = pretrained_backbone(cfg, work_dir, quick)
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=pretrained['checkpoint'])
    return pretrained
