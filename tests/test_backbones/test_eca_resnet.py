import pytest
import torch
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet_eca.backbones import ECAResNet, ECAResNetV1d
from mmdet_eca.layers import parse_kernel_sizes
from mmdet_eca.backbones.eca_resnet import ECABasicBlock, ECABottleneck
from reference_models import RefECAResNet, official_checkpoint, randomize

STAGE_CHANNELS = {
    18: (64, 128, 256, 512),
    34: (64, 128, 256, 512),
    50: (256, 512, 1024, 2048),
    101: (256, 512, 1024, 2048),
    152: (256, 512, 1024, 2048),
}
OFFICIAL = {18: '3577', 34: '3357', 50: '3557', 101: '3357', 152: '3357'}


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def eca_modules(model):
    return [m for n, m in model.named_modules() if n.endswith('.eca')]


@pytest.mark.parametrize('depth', [18, 34, 50, 101, 152])
def test_depths_shapes_and_parameter_overhead(depth):
    model = ECAResNet(depth=depth)
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        outs = model(x)
    assert len(outs) == 4
    for i, (out, c) in enumerate(zip(outs, STAGE_CHANNELS[depth])):
        assert out.shape == (1, c, 64 // 2**(i + 2), 64 // 2**(i + 2))

    ks = [int(k) for k in OFFICIAL[depth]]
    assert model.eca_kernel_sizes == tuple(ks)
    blocks = ResNet.arch_settings[depth][1]
    # ECA adds one [1, 1, k] weight per block, nothing else.
    expected_extra = sum(k * n for k, n in zip(ks, blocks))
    assert n_params(model) - n_params(ResNet(depth=depth)) == expected_extra
    for i, n in enumerate(blocks):
        for block in getattr(model, f'layer{i + 1}'):
            assert block.eca.conv.weight.shape == (1, 1, ks[i])


def test_resnet50_3557_adds_80_parameters():
    assert n_params(ECAResNet(depth=50, eca_kernel_sizes='3557')) - n_params(
        ResNet(depth=50)) == 80


def test_block_types_and_registry():
    assert isinstance(ECAResNet(depth=18).layer1[0], ECABasicBlock)
    assert isinstance(ECAResNet(depth=50).layer1[0], ECABottleneck)
    assert MODELS.get('ECAResNet') is ECAResNet
    assert MODELS.get('ECAResNetV1d') is ECAResNetV1d


@pytest.mark.parametrize('value,expected', [
    ('3557', (3, 5, 5, 7)),
    ((3, 3, 5, 7), (3, 3, 5, 7)),
    ([1, 3, 5, 9], (1, 3, 5, 9)),
    ('adaptive', (5, 5, 5, 7)),
])
def test_kernel_size_forms(value, expected):
    model = ECAResNet(depth=50, eca_kernel_sizes=value)
    assert model.eca_kernel_sizes == expected
    assert [m.kernel_size for m in eca_modules(model)][:3] == [expected[0]] * 3


def test_adaptive_uses_stage_channels_and_gamma_beta():
    assert parse_kernel_sizes('adaptive', (64, 128, 256, 512), 2, 1) == (3, 5,
                                                                         5, 5)
    model = ECAResNet(depth=18, eca_kernel_sizes='adaptive', eca_gamma=1,
                      eca_beta=1)
    # log2(64) + 1 = 7, log2(512) + 1 = 10 -> 11
    assert model.eca_kernel_sizes == (7, 9, 9, 11)


@pytest.mark.parametrize('bad,fragment', [
    ('3456', "contains 4"),
    ('355', 'has 3 entries'),
    ((3, 5, 5, 7, 7), 'has 5 entries'),
    ('35a7', 'is invalid'),
    ('3057', 'contains 0'),
    ((3, 5, -1, 7), 'contains -1'),
    ((3, 5, 5.0, 7), 'contains 5.0'),
    (7, 'is invalid'),
])
def test_invalid_kernel_sizes_are_rejected(bad, fragment):
    with pytest.raises(ValueError, match='eca_kernel_sizes') as err:
        ECAResNet(depth=50, eca_kernel_sizes=bad)
    assert fragment in str(err.value)
    assert 'expected 4 odd kernel sizes' in str(err.value)


def test_invalid_depth():
    with pytest.raises(KeyError, match='invalid depth 42'):
        ECAResNet(depth=42)


@pytest.mark.parametrize('depth', [18, 50])
def test_official_checkpoint_gives_the_reference_features(depth, tmp_path):
    ks = [int(k) for k in OFFICIAL[depth]]
    ref = randomize(RefECAResNet(depth, ks)).eval()
    path = tmp_path / f'eca_resnet{depth}_k{OFFICIAL[depth]}.pth.tar'
    torch.save(official_checkpoint(ref), path)

    model = ECAResNet(
        depth=depth, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = ref.features(x)
        outs = model(x)
    for out, exp in zip(outs, expected):
        torch.testing.assert_close(out, exp, rtol=1e-5, atol=1e-5)


def test_official_state_dict_loads_strictly_by_name():
    ref = randomize(RefECAResNet(50, [3, 5, 5, 7]))
    state = {k: v for k, v in ref.state_dict().items() if not k.startswith('fc')}
    model = ECAResNet(depth=50)
    model.load_state_dict(state, strict=True)
    torch.testing.assert_close(model.layer4[2].eca.conv.weight,
                               ref.layer4[2].eca.conv.weight)


@pytest.mark.parametrize('use_init_cfg', [True, False])
def test_wrong_kernel_sizes_give_a_clear_error(use_init_cfg, tmp_path):
    ref = randomize(RefECAResNet(50, [3, 3, 5, 7]))
    path = tmp_path / 'eca_resnet101_k3357.pth.tar'
    torch.save(official_checkpoint(ref), path)
    with pytest.raises(ValueError) as err:
        if use_init_cfg:
            # non-strict MMEngine loading would only log a size mismatch
            ECAResNet(
                depth=50,
                eca_kernel_sizes='3557',
                init_cfg=dict(type='Pretrained',
                              checkpoint=str(path))).init_weights()
        else:
            ECAResNet(depth=50, eca_kernel_sizes='3557').load_state_dict(
                ref.state_dict(), strict=False)
    msg = str(err.value)
    assert "checkpoint has eca_kernel_sizes='3357'" in msg
    assert "built with '3557'" in msg
    assert 'layer2' in msg


def test_a_checkpoint_for_the_other_stem_is_refused(tmp_path):
    # Non-strict loading would otherwise leave the stem random.
    deep = ECAResNetV1d(depth=18, eca_kernel_sizes='3557').state_dict()
    timm_names = {
        k.replace('stem.0.', 'conv1.0.'): v
        for k, v in deep.items()
    }
    for state in (deep, timm_names):
        with pytest.raises(ValueError,
                           match="backbone.type='ECAResNetV1d'"):
            ECAResNet(depth=18, eca_kernel_sizes='3557').load_state_dict(
                state, strict=False)
    path = tmp_path / 'eca_resnet18_k3557.pth.tar'
    torch.save(official_checkpoint(randomize(RefECAResNet(18, [3, 5, 5, 7]))),
               path)
    with pytest.raises(ValueError, match="backbone.type='ECAResNet'"):
        ECAResNetV1d(
            depth=18,
            eca_kernel_sizes='3557',
            init_cfg=dict(type='Pretrained',
                          checkpoint=str(path))).init_weights()


def test_frozen_stages():
    model = ECAResNet(depth=18, frozen_stages=2)
    model.train()
    assert not model.norm1.training
    for p in list(model.conv1.parameters()) + list(model.norm1.parameters()):
        assert not p.requires_grad
    for i in (1, 2):
        layer = getattr(model, f'layer{i}')
        for m in layer.modules():
            assert not m.training
        for p in layer.parameters():
            assert not p.requires_grad
        assert not layer[0].eca.conv.weight.requires_grad
    for p in model.layer3.parameters():
        assert p.requires_grad
    assert model.layer3[0].eca.training


def test_norm_eval_keeps_bn_in_eval():
    model = ECAResNet(depth=18, norm_eval=True)
    model.train()
    assert all(not m.training for m in model.modules()
               if isinstance(m, _BatchNorm))
    model = ECAResNet(depth=18, norm_eval=False)
    model.train()
    assert all(m.training for m in model.modules()
               if isinstance(m, _BatchNorm))


@pytest.mark.parametrize('depth', [18, 50])
def test_with_cp_gives_same_outputs_and_gradients(depth):
    torch.manual_seed(0)
    plain = ECAResNet(depth=depth, norm_eval=False)
    cp_model = ECAResNet(depth=depth, with_cp=True, norm_eval=False)
    cp_model.load_state_dict(plain.state_dict())
    for m in (plain, cp_model):
        with torch.no_grad():
            for blk in m.modules():
                if hasattr(blk, 'eca'):
                    blk.eca.conv.weight.fill_(0.3)
    plain.train()
    cp_model.train()
    x = torch.randn(2, 3, 64, 64)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1, out2 = plain(x1), cp_model(x2)
    for a, b in zip(out1, out2):
        torch.testing.assert_close(a, b)
    sum(o.sum() for o in out1).backward()
    sum(o.sum() for o in out2).backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    for (n, p1), p2 in zip(plain.named_parameters(), cp_model.parameters()):
        torch.testing.assert_close(p1.grad, p2.grad, msg=n)


def test_zero_init_residual_zeroes_the_last_norm():
    model = ECAResNet(depth=50)
    model.init_weights()
    for layer in (model.layer1, model.layer4):
        for block in layer:
            assert torch.all(block.norm3.weight == 0)
    model = ECAResNet(depth=18, zero_init_residual=False)
    model.init_weights()
    assert torch.all(model.layer1[0].norm2.weight == 1)
    model = ECAResNet(depth=18)
    model.init_weights()
    assert torch.all(model.layer1[0].norm2.weight == 0)


def test_eca_conv_keeps_pytorch_default_init():
    torch.manual_seed(0)
    model = ECAResNet(depth=18)
    before = model.layer1[0].eca.conv.weight.clone()
    model.init_weights()  # Kaiming init targets Conv2d only
    torch.testing.assert_close(model.layer1[0].eca.conv.weight, before)


@pytest.mark.parametrize('norm_cfg', [
    dict(type='GN', num_groups=32, requires_grad=True),
    dict(type='BN', requires_grad=True),
])
def test_norm_cfg(norm_cfg):
    model = ECAResNet(depth=50, norm_cfg=norm_cfg, norm_eval=False)
    model.train()
    outs = model(torch.randn(2, 3, 64, 64))
    assert outs[-1].shape == (2, 2048, 2, 2)
    norm_type = type(model.layer1[0].norm3).__name__
    assert norm_type == ('GroupNorm' if norm_cfg['type'] == 'GN' else
                         'BatchNorm2d')


def test_syncbn_builds():
    model = ECAResNet(depth=18, norm_cfg=dict(type='SyncBN'))
    assert type(model.layer1[0].norm2).__name__ == 'SyncBatchNorm'


def test_out_indices_strides_dilations_style():
    model = ECAResNet(
        depth=50,
        out_indices=(1, 3),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        style='caffe')
    model.eval()
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape for o in outs] == [(1, 512, 8, 8), (1, 2048, 4, 4)]
    assert model.layer4[0].conv1.stride == (1, 1)
    assert model.layer4[0].conv2.dilation == (2, 2)
    assert model.layer2[0].conv1.stride == (2, 2)  # caffe: stride on 1x1


def test_dcn_and_plugins_on_bottleneck():
    model = ECAResNet(
        depth=50,
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, False, True, True),
        plugins=[
            dict(
                cfg=dict(type='ContextBlock', ratio=1. / 4),
                stages=(False, True, True, True),
                position='after_conv3')
        ])
    assert type(model.layer3[0].conv2).__name__ == 'DeformConv2dPack'
    assert hasattr(model.layer2[0], 'context_block')
    assert not hasattr(model.layer1[0], 'context_block')
    model.eval()
    # mmcv's CPU deformable conv needs maps at least as large as its kernel
    outs = model(torch.randn(1, 3, 128, 128))
    assert outs[-1].shape == (1, 2048, 4, 4)


def test_v1d_stem_and_avg_down():
    model = ECAResNetV1d(depth=50)
    assert model.eca_kernel_sizes == (5, 5, 5, 7)
    assert model.deep_stem and model.avg_down
    assert type(model.layer2[0].downsample[0]).__name__ == 'AvgPool2d'
    assert [type(m).__name__ for m in model.stem][:2] == ['Conv2d',
                                                         'BatchNorm2d']
    model.eval()
    outs = model(torch.randn(1, 3, 64, 64))
    assert outs[0].shape == (1, 256, 16, 16)
    assert ECAResNetV1d(depth=50, eca_kernel_sizes='3557').eca_kernel_sizes \
        == (3, 5, 5, 7)


def test_build_from_registry_config():
    model = MODELS.build(
        dict(type='ECAResNet', depth=34, eca_kernel_sizes=[3, 3, 5, 7]))
    assert isinstance(model, ECAResNet)
    assert model.eca_kernel_sizes == (3, 3, 5, 7)
