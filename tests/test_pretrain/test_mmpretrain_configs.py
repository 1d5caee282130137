"""configs/mmpretrain/: mmpretrain's own ImageNet recipes with only the
backbone changed, trained by mmpretrain's tools/train.py, and their
checkpoints loaded into the matching detector configs' backbones through
``init_cfg=dict(type='Pretrained', prefix='backbone.')``."""
import glob
import os.path as osp
import tempfile

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import REPO
from mmdet_eca.engine import check_pretrained_backbone
from mmdet_eca.errors import CheckpointError

# mmpretrain needs the torchvision of the registry's torch: CI runs these in
# the oldest-torch environment (make test-oldest-torch)
pytest.importorskip('mmpretrain', reason='pip install mmdet-eca[pretrain]')

# each recipe, the mmpretrain (or MMDetection) recipe it inherits, and the
# detector config its backbone weights start, with the backbone settings
# that make the detector's backbone the pretrained one
PAIRS = {
    'eca-resnet50_8xb32_in1k.py': (
        'mmpretrain::resnet/resnet50_8xb32_in1k.py',
        'faster_rcnn_ecanet50_fpn_1x_coco.py', {}),
    'eca-resnet101_8xb32_in1k.py': (
        'mmpretrain::resnet/resnet101_8xb32_in1k.py',
        'retinanet_ecanet101_fpn_1x_coco.py', {}),
    'resnext50-32x4d-eca_8xb32_in1k.py': (
        'mmpretrain::resnext/resnext50-32x4d_8xb32_in1k.py',
        'eca_plugins/mask-rcnn_x101-32x4d-eca_fpn_1x_coco.py',
        dict(depth=50)),
    'regnetx-3.2gf-eca_8xb64_in1k.py': (
        'mmpretrain::regnet/regnetx-3.2gf_8xb64_in1k.py',
        'eca_plugins/faster-rcnn_regnetx-3.2GF-eca_fpn_1x_coco.py', {}),
    'eca-mobilenet-v2_8xb32_in1k.py': (
        'mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
        'retinanet_ecamobilenetv2_fpn_1x_coco.py', {}),
    'eca-efficientnet-b0_8xb32_in1k.py': (
        'mmpretrain::efficientnet/efficientnet-b0_8xb32_in1k.py',
        'retinanet_ecaeffb3_fpn_8xb4-crop896-1x_coco.py', dict(arch='b0')),
    'cspnext-tiny-eca_8xb256-rsb-a1-600e_in1k.py': (
        'mmdet::rtmdet/classification/'
        'cspnext-tiny_8xb256-rsb-a1-600e_in1k.py',
        'rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py', {}),
}


def load(path):
    return Config.fromfile(path)


def load_base(base):
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'base.py')
        with open(path, 'w') as f:
            f.write(f'_base_ = {base!r}\n')
        return load(path)


def test_every_recipe_is_paired():
    shipped = {osp.basename(p) for p in glob.glob(
        osp.join(REPO, 'configs', 'mmpretrain', '*.py'))}
    assert shipped == set(PAIRS)


@pytest.mark.parametrize('config', sorted(PAIRS))
def test_recipe_changes_only_the_backbone(config):
    cfg = load(osp.join(REPO, 'configs', 'mmpretrain', config))
    stock = load_base(PAIRS[config][0])
    assert cfg.custom_imports == dict(imports=['mmdet_eca'],
                                      allow_failed_imports=False)
    assert cfg.model.backbone.type.startswith('mmdet.')
    ours, theirs = cfg.to_dict(), stock.to_dict()
    ours['model'].pop('backbone'), theirs['model'].pop('backbone')
    ours.pop('custom_imports')
    # the recipe's classifier is mmpretrain's, whatever package it ships in
    assert ours['model'].pop('_scope_', 'mmpretrain') == 'mmpretrain'
    theirs['model'].pop('_scope_', None)
    assert ours == theirs


def detector_backbone(config, checkpoint, **changes):
    """The backbone of the detector config paired with ``config``, set to
    start from ``checkpoint`` as a user sets it."""
    import mmdet_eca  # noqa: F401
    from mmdet.registry import MODELS
    _, detector, settings = PAIRS[config]
    cfg = load(osp.join(REPO, 'configs', detector))
    backbone = cfg.model.backbone.to_dict()
    backbone.update(settings, **changes)
    backbone['init_cfg'] = dict(type='Pretrained', checkpoint=checkpoint,
                                prefix='backbone.')
    init_default_scope('mmdet')
    return MODELS.build(backbone)


@pytest.mark.parametrize('config', sorted(PAIRS))
def test_trained_by_mmpretrain_and_loaded_by_the_detector(
        config, pretrained):
    checkpoint = pretrained(config)
    weights = torch.load(checkpoint, map_location='cpu')['state_dict']
    assert any(k.startswith('head.') for k in weights)
    backbone = detector_backbone(config, checkpoint)
    report = check_pretrained_backbone(backbone)
    assert report.startswith('model.backbone.init_cfg: ' + checkpoint +
                             ' fills all')
    assert 'ECA weights (none in the file)' not in report
    backbone.init_weights()
    own = backbone.state_dict()
    assert any('eca' in k or 'attention.conv' in k for k in own)
    for key, tensor in own.items():
        assert torch.equal(tensor, weights['backbone.' + key]), key


def test_a_deeper_detector_backbone_is_refused_in_one_line(pretrained):
    config = 'resnext50-32x4d-eca_8xb32_in1k.py'
    checkpoint = pretrained(config)
    backbone = detector_backbone(config, checkpoint, depth=101)
    with pytest.raises(CheckpointError) as err:
        check_pretrained_backbone(backbone)
    message = str(err.value)
    assert '\n' not in message
    assert message.startswith(f'{checkpoint}: lacks ')
    assert "of the ResNeXt backbone's" in message and "'layer3.6." in message


def test_other_plugin_kernel_sizes_are_refused_in_one_line(pretrained):
    config = 'regnetx-3.2gf-eca_8xb64_in1k.py'
    checkpoint = pretrained(config)
    backbone = detector_backbone(
        config, checkpoint,
        plugins=[dict(cfg=dict(type='ECA', kernel_size=7),
                      position='after_conv3')])
    with pytest.raises(CheckpointError) as err:
        check_pretrained_backbone(backbone)
    message = str(err.value)
    assert '\n' not in message
    assert message.startswith(f'{checkpoint}: does not fit the backbone')
    assert ('layer1.0.eca.conv.weight has shape torch.Size([1, 1, 3]) in '
            'the checkpoint but torch.Size([1, 1, 7])') in message


def test_other_eca_resnet_kernel_sizes_are_refused_in_one_line(pretrained):
    config = 'eca-resnet50_8xb32_in1k.py'
    checkpoint = pretrained(config)
    backbone = detector_backbone(config, checkpoint, eca_kernel_sizes='3357')
    with pytest.raises(CheckpointError) as err:
        check_pretrained_backbone(backbone)
    assert '\n' not in str(err.value)
    assert "the checkpoint has eca_kernel_sizes='3557'" in str(err.value)
    # MMEngine's own loading meets the backbone's check too
    with pytest.raises(ValueError, match="eca_kernel_sizes='3557'"):
        backbone.init_weights()
