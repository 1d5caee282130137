"""Reading backbone settings off the tensors."""
import pytest
import torch
from mmdet.models.backbones import ResNet

from mmdet_eca.backbones import ECAMobileNetV2, ECAResNet, ECAResNetV1d
from mmdet_eca.checkpoint import (BackboneSpec, CheckpointError,
                                  check_state_dict, detect_backbone)


@pytest.mark.parametrize('cls,kwargs,spec', [
    (ECAResNet, dict(depth=18, eca_kernel_sizes='1357'),
     BackboneSpec('ECAResNet', (1, 3, 5, 7), 18)),
    (ECAResNet, dict(depth=34), BackboneSpec('ECAResNet', (3, 3, 5, 7), 34)),
    (ECAResNet, dict(depth=50, eca_kernel_sizes=(3, 3, 7, 7)),
     BackboneSpec('ECAResNet', (3, 3, 7, 7), 50)),
    (ECAResNetV1d, dict(depth=101),
     BackboneSpec('ECAResNetV1d', (5, 5, 5, 7), 101)),
    (ECAMobileNetV2, dict(eca_kernel_sizes='1113335'),
     BackboneSpec('ECAMobileNetV2', (1, 1, 1, 3, 3, 3, 5))),
])
def test_detects_type_depth_and_kernel_sizes(cls, kwargs, spec):
    state = cls(**kwargs).state_dict()
    assert detect_backbone(state) == spec
    check_state_dict(spec, state)


def test_config_text():
    spec = BackboneSpec('ECAResNet', (3, 5, 5, 7), 50)
    assert spec.config() == dict(
        type='ECAResNet', depth=50, eca_kernel_sizes='3557')
    assert spec.config_text('c/x.pth') == (
        "backbone=dict(type='ECAResNet', depth=50, eca_kernel_sizes='3557', "
        "init_cfg=dict(type='Pretrained', checkpoint='c/x.pth'))")
    assert spec.config_text('d.pth', prefix='backbone.').endswith(
        "checkpoint='d.pth', prefix='backbone.'))")
    assert spec.out_channels == [256, 512, 1024, 2048]
    assert BackboneSpec('ECAResNet', (3, 5, 7, 7), 18).out_channels == [
        64, 128, 256, 512
    ]
    mobilenet = BackboneSpec('ECAMobileNetV2', (1, 1, 1, 1, 3, 3, 3))
    assert mobilenet.config() == dict(
        type='ECAMobileNetV2', eca_kernel_sizes='1111333')
    assert mobilenet.out_channels == [24, 32, 96, 1280]
    outs = mobilenet.build().eval()(torch.zeros(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == mobilenet.out_channels


def test_plain_resnet_has_no_eca():
    with pytest.raises(CheckpointError, match='no ECA weights.*plain '
                       'ResNet-18'):
        detect_backbone(ResNet(depth=18).state_dict())


def test_unknown_block_counts():
    state = {
        k: v
        for k, v in ECAResNet(depth=50).state_dict().items()
        if not k.startswith('layer3.5.')
    }
    with pytest.raises(CheckpointError, match='Bottlenecks with 3-4-5-3 '
                       'blocks per stage, which is no ResNet depth'):
        detect_backbone(state)


def test_mixed_kernel_sizes_within_a_stage():
    state = ECAResNet(depth=18).state_dict()
    state['layer2.1.eca.conv.weight'] = torch.zeros(1, 1, 3)
    with pytest.raises(CheckpointError, match=r'mixes ECA kernel sizes '
                       r'\[3, 5\] within layer2'):
        detect_backbone(state)


def test_no_stem():
    with pytest.raises(CheckpointError, match='no ECA-ResNet or '
                       'ECA-MobileNetV2 stem'):
        detect_backbone({'layer1.0.eca.conv.weight': torch.zeros(1, 1, 3)})


def test_check_state_dict_names_the_problems():
    spec = BackboneSpec('ECAResNet', (3, 5, 7, 7), 18)
    state = ECAResNet(depth=18, eca_kernel_sizes='3577').state_dict()
    # old checkpoints lack num_batches_tracked; PyTorch fills it in
    del state['bn1.num_batches_tracked']
    check_state_dict(spec, state)

    del state['layer1.0.conv1.weight']
    state['layer1.0.bn1.weight'] = torch.zeros(3)
    state['extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointError) as err:
        check_state_dict(spec, state)
    msg = str(err.value)
    assert msg.startswith("does not fit ECAResNet(depth=18, "
                          "eca_kernel_sizes='3577'): ")
    assert "missing 'layer1.0.conv1.weight'" in msg
    assert "'layer1.0.bn1.weight' has shape [3], expected [64]" in msg
    assert "unexpected 'extra.weight'" in msg
