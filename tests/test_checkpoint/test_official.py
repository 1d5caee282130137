"""Official ECA-Net release -> ECAResNet / ECAMobileNetV2."""
import pytest
import torch

from mmdet_eca.backbones import ECAMobileNetV2, ECAResNet
from mmdet_eca.checkpoint import (BackboneSpec, convert,
                                  convert_official_mobilenet_v2,
                                  convert_official_resnet, convert_state_dict)
from reference_models import official_checkpoint
from test_checkpoint.sources import (OFFICIAL_K, assert_same_features,
                                     official_file, official_mobilenet_v2,
                                     official_resnet, save)

X = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def test_resnet_mapping_keeps_names_and_leaves_the_rest():
    t = torch.zeros(1)
    state = {
        'conv1.weight': t,
        'bn1.running_mean': t,
        'layer4.2.downsample.1.num_batches_tracked': t,
        'layer1.0.eca.conv.weight': t,
        'fc.weight': t,
        'fc.bias': t,
        'layer1.0.se.fc1.weight': t,
    }
    converted, unconverted = convert_official_resnet(state)
    assert list(converted) == list(state)[:4]
    assert all(converted[k] is state[k] for k in converted)
    assert unconverted == ['fc.weight', 'fc.bias', 'layer1.0.se.fc1.weight']


def test_mobilenet_v2_mapping():
    state = official_mobilenet_v2().state_dict()
    converted, unconverted = convert_official_mobilenet_v2(state)
    assert unconverted == ['classifier.1.weight', 'classifier.1.bias']
    assert set(converted) == set(ECAMobileNetV2().state_dict())
    for src, dst in [
        ('features.0.0.weight', 'conv1.conv.weight'),
        ('features.0.1.running_var', 'conv1.bn.running_var'),
        # first block: no expansion, so its numbering starts at depthwise
        ('features.1.conv.0.0.weight', 'layer1.0.depthwise_conv.conv.weight'),
        ('features.1.conv.1.weight', 'layer1.0.linear_conv.conv.weight'),
        ('features.1.conv.2.bias', 'layer1.0.linear_conv.bn.bias'),
        ('features.1.conv.3.conv.weight', 'layer1.0.eca.conv.weight'),
        ('features.2.conv.0.0.weight', 'layer2.0.expand_conv.conv.weight'),
        ('features.2.conv.1.1.weight', 'layer2.0.depthwise_conv.bn.weight'),
        ('features.13.conv.4.conv.weight', 'layer5.2.eca.conv.weight'),
        ('features.17.conv.3.weight', 'layer7.0.linear_conv.bn.weight'),
        ('features.18.1.bias', 'conv2.bn.bias'),
    ]:
        assert converted[dst] is state[src], (src, dst)
    # the release's k: 1 below 96 output channels, 3 from 96 on
    assert converted['layer4.3.eca.conv.weight'].shape == (1, 1, 1)
    assert converted['layer5.0.eca.conv.weight'].shape == (1, 1, 3)


@pytest.mark.parametrize('depth', [18, 34, 50])
def test_official_resnet_round_trip(depth, tmp_path):
    ref = official_resnet(depth)
    src = official_file(tmp_path / f'eca_resnet{depth}.pth.tar', depth)
    dst = tmp_path / 'out' / 'converted.pth'
    result = convert(src, str(dst))
    assert result.source_format == 'official'
    assert result.spec == BackboneSpec('ECAResNet', OFFICIAL_K[depth], depth)
    assert result.dropped == ['fc.weight', 'fc.bias']

    saved = torch.load(dst, map_location='cpu', weights_only=True)
    meta = saved['meta']
    assert meta['depth'] == depth
    assert meta['eca_kernel_sizes'] == ''.join(map(str, OFFICIAL_K[depth]))
    model = ECAResNet(depth=depth, eca_kernel_sizes=meta['eca_kernel_sizes'])
    # strict: no missing and no unexpected keys
    model.load_state_dict(saved['state_dict'], strict=True)
    model.eval()
    with torch.no_grad():
        assert_same_features(model(X), ref.features(X))


@pytest.mark.parametrize('depth', [101, 152])
def test_official_deep_resnet_round_trip_in_memory(depth):
    # as above without the files, which are 170 and 230 MB at these depths
    ref = official_resnet(depth)
    result = convert_state_dict(official_checkpoint(ref))
    assert result.spec == BackboneSpec('ECAResNet', OFFICIAL_K[depth], depth)
    model = result.spec.build()
    model.load_state_dict(result.state_dict, strict=True)
    model.eval()
    with torch.no_grad():
        assert_same_features(model(X), ref.features(X))


@pytest.mark.parametrize('layout', ['wrapped', 'bare', 'bare-prefixed'])
def test_official_resnet_layouts(layout):
    ref = official_resnet(18)
    wrapped = official_checkpoint(ref)
    checkpoint = {
        'wrapped': wrapped,
        'bare': ref.state_dict(),
        'bare-prefixed': wrapped['state_dict'],
    }[layout]
    result = convert_state_dict(checkpoint)
    assert result.source_format == 'official'
    assert result.spec == BackboneSpec('ECAResNet', (3, 5, 7, 7), 18)
    expected = {k: v for k, v in ref.state_dict().items() if 'fc' not in k}
    assert result.state_dict.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(result.state_dict[key], value)
    prefix_note = any('module.' in note for note in result.notes)
    assert prefix_note == (layout != 'bare')


def test_arch_field_is_ignored_and_reported():
    # the real ResNet-50 file says 'se_resnet50'; depth 18 must still win
    result = convert_state_dict(
        official_checkpoint(official_resnet(18), arch='se_resnet50'))
    assert result.spec.depth == 18
    assert any("'se_resnet50'; ignored" in note for note in result.notes)


def test_official_mobilenet_v2_round_trip(tmp_path):
    ref = official_mobilenet_v2()
    src = save(
        official_checkpoint(ref, arch='eca_mobilenet_v2'),
        tmp_path / 'eca_mobilenetv2_k13.pth.tar')
    result = convert(src, str(tmp_path / 'converted.pth'))
    assert result.spec == BackboneSpec('ECAMobileNetV2',
                                       (1, 1, 1, 1, 3, 3, 3))
    assert result.dropped == ['classifier.1.weight', 'classifier.1.bias']
    saved = torch.load(result.written, weights_only=True)
    assert saved['meta']['eca_kernel_sizes'] == '1111333'
    assert saved['meta']['depth'] is None
    model = ECAMobileNetV2(out_indices=tuple(range(8)))
    model.load_state_dict(saved['state_dict'], strict=True)
    model.eval()
    with torch.no_grad():
        assert_same_features(model(X), ref.stage_outputs(X))


@pytest.mark.parametrize('backbone', ['ECAResNet', 'ECAMobileNetV2'])
@pytest.mark.parametrize('converted', [False, True])
def test_init_cfg_loads_official_files_with_or_without_conversion(
        backbone, converted, tmp_path):
    if backbone == 'ECAResNet':
        ref, cls, kwargs = official_resnet(18), ECAResNet, dict(depth=18)
        expected = ref.features(X)
    else:
        ref, cls = official_mobilenet_v2(), ECAMobileNetV2
        kwargs = dict(out_indices=tuple(range(8)))
        expected = ref.stage_outputs(X)
    path = save(official_checkpoint(ref), tmp_path / 'official.pth.tar')
    if converted:
        path = convert(path, str(tmp_path / 'converted.pth')).written
    model = cls(init_cfg=dict(type='Pretrained', checkpoint=path), **kwargs)
    model.init_weights()
    model.eval()
    with torch.no_grad():
        assert_same_features(model(X), [e.detach() for e in expected])
