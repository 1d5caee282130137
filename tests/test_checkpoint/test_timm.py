"""timm ecaresnet50d / ecaresnet101d -> ECAResNetV1d."""
import pytest
import torch

from mmdet_eca.backbones import ECAResNetV1d
from mmdet_eca.checkpoint import (BackboneSpec, CheckpointError, convert,
                                  convert_state_dict, convert_timm_resnet_d)
from test_checkpoint.sources import assert_same_features, save, timm_resnet_d

X = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))


def test_mapping_renames_stem_and_attention_only():
    state = timm_resnet_d(50).state_dict()
    converted, unconverted = convert_timm_resnet_d(state)
    assert unconverted == ['fc.weight', 'fc.bias']
    assert set(converted) == set(ECAResNetV1d(depth=50).state_dict())
    for src, dst in [
        ('conv1.0.weight', 'stem.0.weight'),
        ('conv1.1.running_mean', 'stem.1.running_mean'),
        ('conv1.3.weight', 'stem.3.weight'),
        ('conv1.4.bias', 'stem.4.bias'),
        ('conv1.6.weight', 'stem.6.weight'),
        ('bn1.weight', 'stem.7.weight'),
        ('layer1.0.se.conv.weight', 'layer1.0.eca.conv.weight'),
        ('layer2.0.downsample.1.weight', 'layer2.0.downsample.1.weight'),
        ('layer2.0.downsample.2.running_var',
         'layer2.0.downsample.2.running_var'),
        ('layer3.5.bn3.weight', 'layer3.5.bn3.weight'),
    ]:
        assert converted[dst] is state[src], (src, dst)


@pytest.mark.parametrize('depth', [50, 101])
def test_round_trip_gives_the_same_features(depth, tmp_path):
    ref = timm_resnet_d(depth)
    if depth == 50:
        src = save(ref.state_dict(), tmp_path / 'ecaresnet50d.pth')
        result = convert(src, str(tmp_path / 'converted.pth'))
        saved = torch.load(result.written, weights_only=True)
        assert saved['meta']['backbone'] == dict(
            type='ECAResNetV1d', depth=50, eca_kernel_sizes='5557')
        state = saved['state_dict']
    else:  # no 170 MB files for the deeper one
        result = convert_state_dict(ref.state_dict())
        state = result.state_dict
    assert result.source_format == 'timm'
    assert result.spec == BackboneSpec('ECAResNetV1d', (5, 5, 5, 7), depth)
    assert result.dropped == ['fc.weight', 'fc.bias']
    model = ECAResNetV1d(depth=depth)  # its adaptive default is timm's k
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        assert_same_features(model(X), ref.features(X))


def test_init_cfg_loads_an_unconverted_timm_file(tmp_path):
    ref = timm_resnet_d(50)
    path = save(ref.state_dict(), tmp_path / 'ecaresnet50d.pth')
    model = ECAResNetV1d(
        depth=50, init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    model.eval()
    with torch.no_grad():
        assert_same_features(model(X), ref.features(X))


def test_load_state_dict_renames_timm_keys():
    state = timm_resnet_d(50).state_dict()
    model = ECAResNetV1d(depth=50)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == []
    assert result.unexpected_keys == ['fc.weight', 'fc.bias']
    assert torch.equal(model.stem[7].weight, state['bn1.weight'])
    assert torch.equal(model.layer4[2].eca.conv.weight,
                       state['layer4.2.se.conv.weight'])
    # the caller's dict is left as it was
    assert 'conv1.0.weight' in state and 'stem.0.weight' not in state


def test_renaming_also_works_inside_a_detector():
    state = timm_resnet_d(50).state_dict()
    parent = torch.nn.Module()
    parent.backbone = ECAResNetV1d(depth=50)
    result = parent.load_state_dict(
        {f'backbone.{k}': v
         for k, v in state.items() if not k.startswith('fc')})
    assert not result.missing_keys and not result.unexpected_keys


def test_mmdet_names_are_left_alone():
    source = ECAResNetV1d(depth=50)
    model = ECAResNetV1d(depth=50)
    model.load_state_dict(source.state_dict(), strict=True)
    assert torch.equal(model.stem[0].weight, source.stem[0].weight)


def test_timm_kernel_sizes_are_checked_after_renaming():
    state = timm_resnet_d(50).state_dict()
    with pytest.raises(ValueError, match="checkpoint has eca_kernel_sizes="
                       "'5557'"):
        ECAResNetV1d(depth=50, eca_kernel_sizes='3557').load_state_dict(
            state, strict=False)


def test_tiered_stem_is_rejected(tmp_path):
    # ecaresnet26t/50t: a 24-32-64 stem mmdet's ResNetV1d cannot build
    state = timm_resnet_d(50, stem=(24, 32)).state_dict()
    tiered = r"has timm's tiered stem \(24-32-64 channels, as ecaresnet26t"
    with pytest.raises(CheckpointError, match=tiered):
        convert_state_dict(state)
    # ecaresnet26t: its 2-2-2-2 blocks are no ResNet depth, but the stem
    # is what rules it out
    small = timm_resnet_d(26, stem=(24, 32)).state_dict()
    with pytest.raises(CheckpointError, match=tiered):
        convert_state_dict(small)
    # so does loading, through init_cfg, instead of leaving the stem random
    path = tmp_path / 'ecaresnet50t.pth'
    torch.save(state, path)
    model = ECAResNetV1d(
        depth=50, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(ValueError, match=tiered):
        model.init_weights()


def test_squeeze_excitation_and_plain_resnet_d_are_rejected():
    state = timm_resnet_d(50).state_dict()
    se = dict(state)
    se['layer1.0.se.fc1.weight'] = torch.zeros(16, 256, 1, 1)
    with pytest.raises(CheckpointError, match="not part of a timm "
                       "ECA-ResNet-D, e.g. 'layer1.0.se.fc1.weight'"):
        convert_state_dict(se)
    plain = {k: v for k, v in state.items() if '.se.' not in k}
    with pytest.raises(CheckpointError, match='has no ECA weights'):
        convert_state_dict(plain)


def test_one_conv_stem_is_rejected_clearly():
    state = timm_resnet_d(50).state_dict()
    light = {k: v for k, v in state.items() if not k.startswith('conv1.')}
    light['conv1.weight'] = torch.zeros(64, 3, 7, 7)
    with pytest.raises(CheckpointError, match='one-conv stem'):
        convert_state_dict(light)
