"""MMDetection 1.x detector files, built from 3.x detectors of the legacy
configs (the released files cannot be downloaded here).

:func:`to_v1_layout` writes a 3.x detector's weights the way MMDetection
1.x stored them, independently of the code under test: heads at the top
level, the softmax classifier's background output first, a background
block of 4 rows in ``fc_reg`` and a background channel in ``conv_logits``
(random: the upgrade must drop them), and RetinaNet's plain-conv names.

Detectors are built once per process (tests load the weights they need
into them), since both the library and the CLI tests use them.
"""
import functools
import os
import re

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmdet_eca  # noqa: F401  (registers ECAResNet)
from reference_models import randomize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CONFIGS = {
    'FasterRCNN': 'configs/legacy_1.x/faster_rcnn_ecanet50_fpn_1x_coco_v1.py',
    'MaskRCNN': 'configs/legacy_1.x/mask_rcnn_ecanet50_fpn_1x_coco_v1.py',
    'RetinaNet': 'configs/legacy_1.x/retinanet_ecanet50_fpn_1x_coco_v1.py',
}
# what a 1.x checkpoint's meta['mmdet_version'] looked like
V1_VERSION = '1.0rc0+d3ca926'
COCO_CLASSES = tuple(f'class{i}' for i in range(1, 81))
_CONVMODULE = re.compile(r'^(bbox_head\.(?:cls|reg)_convs\.\d+)\.conv\.')


def load_config(detector, **backbone):
    """The legacy config of ``detector`` (ECA-ResNet-50), its backbone
    settings overridden by ``backbone``."""
    cfg = Config.fromfile(os.path.join(ROOT, CONFIGS[detector]))
    cfg.model.backbone.update(backbone)
    return cfg


def build(cfg):
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.eval()
    return model


@functools.lru_cache(maxsize=None)
def detector(name):
    """The 3.x detector of the legacy config, in eval mode."""
    return build(load_config(name))


@functools.lru_cache(maxsize=None)
def _reference_state(name):
    return {k: v.clone() for k, v in
            randomize(detector(name), seed=1).state_dict().items()}


def reference_state(name):
    """Random 3.x weights of ``name`` (a fresh copy each call)."""
    return {k: v.clone() for k, v in _reference_state(name).items()}


def to_v1_layout(state, seed=0):
    """``state`` (3.x names and order) as MMDetection 1.x saved it."""
    gen = torch.Generator().manual_seed(seed)

    def background(like):
        return torch.randn(like.shape[1:], generator=gen)[None]

    v1 = {}
    for key, value in state.items():
        key = key[len('roi_head.'):] if key.startswith('roi_head.') else key
        if key.startswith('bbox_head.fc_cls.'):  # background last -> first
            value = torch.cat([value[-1:], value[:-1]])
        elif key.startswith('bbox_head.fc_reg.'):  # 4 background rows first
            value = torch.cat(
                [torch.cat([background(value)] * 4), value])
        elif key.startswith('mask_head.conv_logits.'):
            value = torch.cat([background(value), value])
        key = _CONVMODULE.sub(r'\1.', key)
        v1[key] = value
    return v1


def v1_checkpoint(state, declared, version=V1_VERSION):
    """The whole 1.x file: meta with the config text, weights, optimizer."""
    config = (f"model = dict(\n    type='{declared}',\n    pretrained="
              "'torchvision://resnet50',\n    backbone=dict(\n        "
              "type='ResNet',\n        depth=50))\n")
    meta = dict(config=config, CLASSES=COCO_CLASSES, epoch=12, iter=58644,
                mmcv_version='0.2.14', time='Tue Nov 19 03:21:08 2019')
    if version is not None:
        meta['mmdet_version'] = version
    return dict(
        meta=meta,
        state_dict=state,
        optimizer=dict(
            state={0: dict(momentum_buffer=torch.zeros(2))},
            param_groups=[dict(lr=0.0001, momentum=0.9, params=[0])]))


def save_legacy(checkpoint, path):
    """``torch.save`` in the pre-1.6 format the 2019 files use."""
    torch.save(checkpoint, path, _use_new_zipfile_serialization=False)
    return str(path)


def one_image(model, height=96, width=128):
    """A random image as the detector's inputs, at scale 1."""
    image = torch.rand(3, height, width,
                       generator=torch.Generator().manual_seed(0)) * 255
    sample = DetDataSample(metainfo=dict(
        img_shape=(height, width), ori_shape=(height, width),
        scale_factor=(1.0, 1.0)))
    data = model.data_preprocessor(
        dict(inputs=[image], data_samples=[sample]), False)
    return data['inputs'], data['data_samples']


def _small_state(prefixes):
    return {f'{p}.weight': torch.zeros(4, 4) for p in prefixes}


def bad_file(kind, tmp_path):
    """A small file of ``kind`` that no 1.x upgrade fits; returns its path.

    Kinds: ``'3.x'`` (saved by MMEngine), ``'2.x'``, ``'cascade-1.x'`` (a
    1.x detector of another type), ``'fcos-1.x'`` (the same, without the
    config text), ``'truncated-1.x'``.
    """
    path = tmp_path / f'{kind}.pth'
    roi_heads = ['backbone.conv1', 'rpn_head.rpn_conv',
                 'roi_head.bbox_head.fc_cls']
    if kind == '3.x':
        checkpoint = dict(
            meta=dict(mmengine_version='0.10.7',
                      dataset_meta=dict(classes=COCO_CLASSES)),
            state_dict=_small_state(roi_heads))
    elif kind == '2.x':
        checkpoint = dict(
            meta=dict(mmdet_version='2.28.2', CLASSES=COCO_CLASSES),
            state_dict=_small_state(roi_heads))
    elif kind == 'cascade-1.x':
        checkpoint = v1_checkpoint(
            _small_state(['backbone.conv1', 'rpn_head.rpn_cls',
                          'bbox_head.0.fc_cls', 'bbox_head.1.fc_cls']),
            'CascadeRCNN')
    elif kind == 'fcos-1.x':
        checkpoint = v1_checkpoint(
            _small_state(['backbone.conv1', 'bbox_head.fcos_cls']), 'FCOS')
        del checkpoint['meta']['config']  # known by its tensors alone
    elif kind == 'truncated-1.x':
        save_legacy(v1_checkpoint(_small_state(['backbone.conv1']),
                                  'MaskRCNN'), path)
        path.write_bytes(path.read_bytes()[:400])
        return str(path)
    else:
        raise ValueError(kind)
    return save_legacy(checkpoint, path)
