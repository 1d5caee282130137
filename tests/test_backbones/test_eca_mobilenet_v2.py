import os.path as osp

import pytest
import torch
from mmdet.models.backbones import MobileNetV2
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config

from mmdet_eca.backbones import ECAInvertedResidual, ECAMobileNetV2
from reference_mobilenet import RefECAMobileNetV2
from reference_models import official_checkpoint, randomize

BLOCKS = (1, 2, 3, 4, 3, 3, 1)
CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'retinanet_ecamobilenetv2_fpn_1x_coco.py')


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_official_kernel_sizes_and_placement():
    model = ECAMobileNetV2()
    # k = 1 below 96 output channels, 3 from 96 on: eca_mobilenetv2_k13
    assert model.eca_kernel_sizes == (1, 1, 1, 1, 3, 3, 3)
    for stage, (n, k) in enumerate(zip(BLOCKS, model.eca_kernel_sizes), 1):
        layer = getattr(model, f'layer{stage}')
        assert len(layer) == n
        for block in layer:
            assert isinstance(block, ECAInvertedResidual)
            assert block.eca.conv.weight.shape == (1, 1, k)
            # the ECA is the block's last layer
            assert list(block._modules)[-1] == 'eca'
    # one [1, 1, k] weight per block, nothing else
    extra = sum(n * k for n, k in zip(BLOCKS, model.eca_kernel_sizes))
    assert extra == 31
    assert n_params(model) - n_params(MobileNetV2()) == extra


def test_registry_build_and_output_shapes():
    model = MODELS.build(dict(type='ECAMobileNetV2'))
    assert isinstance(model, ECAMobileNetV2)
    assert model.eval() is model  # mmdet's MobileNetV2.train returns None
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 24, 16, 16), (1, 32, 8, 8),
                                              (1, 96, 4, 4),
                                              (1, 1280, 2, 2)]


@pytest.mark.parametrize('value,expected', [
    ('3333333', (3, ) * 7),
    ((1, 1, 3, 3, 3, 5, 5), (1, 1, 3, 3, 3, 5, 5)),
    # paper rule on 16, 24, 32, 64, 96, 160, 320 channels
    ('adaptive', (3, 3, 3, 3, 3, 5, 5)),
])
def test_kernel_size_forms(value, expected):
    model = ECAMobileNetV2(eca_kernel_sizes=value)
    assert model.eca_kernel_sizes == expected
    assert model.layer6[0].eca.conv.weight.shape[-1] == expected[5]


@pytest.mark.parametrize('bad', ['1111', '1112333', (1, 1, 1, 1, 3, 3)])
def test_invalid_kernel_sizes(bad):
    with pytest.raises(ValueError, match='expected 7 odd kernel sizes'):
        ECAMobileNetV2(eca_kernel_sizes=bad)


def test_widen_factor():
    model = ECAMobileNetV2(widen_factor=0.5, out_indices=(7, ))
    model.eval()
    with torch.no_grad():
        (out, ) = model(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 1280, 2, 2)
    assert model.layer1[0].linear_conv.conv.out_channels == 8


def _official_file(tmp_path, kernel_sizes=(1, 1, 1, 1, 3, 3, 3)):
    ref = randomize(RefECAMobileNetV2(kernel_sizes)).eval()
    path = tmp_path / 'eca_mobilenetv2_k13.pth.tar'
    torch.save(official_checkpoint(ref, arch='eca_mobilenet_v2'), path)
    return ref, str(path)


def test_official_file_loads_unconverted_and_matches(tmp_path):
    ref, path = _official_file(tmp_path)
    model = ECAMobileNetV2(
        out_indices=tuple(range(8)),
        init_cfg=dict(type='Pretrained', checkpoint=path))
    model.init_weights()
    model.eval()
    # float64: float32's rounding, compounded over 17 blocks whose norm
    # and scaling are fused, would need a loose tolerance
    model.double(), ref.double()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        for out, exp in zip(model(x), ref.stage_outputs(x)):
            torch.testing.assert_close(out, exp, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('use_init_cfg', [True, False])
def test_wrong_kernel_sizes_give_a_clear_error(use_init_cfg, tmp_path):
    # an ECA-MobileNetV2 built with the first code's "<= 96" rule
    ref, path = _official_file(tmp_path, (1, 1, 1, 1, 1, 3, 3))
    with pytest.raises(ValueError) as err:
        if use_init_cfg:
            ECAMobileNetV2(init_cfg=dict(
                type='Pretrained', checkpoint=path)).init_weights()
        else:
            ECAMobileNetV2().load_state_dict(ref.state_dict(), strict=False)
    msg = str(err.value)
    assert "checkpoint has eca_kernel_sizes='1111133'" in msg
    assert "built with '1111333'" in msg and 'layer5' in msg


def test_frozen_stages_freeze_the_eca_too():
    model = ECAMobileNetV2(frozen_stages=2)
    model.train()
    for stage in (1, 2):
        for p in getattr(model, f'layer{stage}').parameters():
            assert not p.requires_grad
    assert model.layer3[0].eca.conv.weight.requires_grad


def test_with_cp_gives_same_outputs_and_gradients():
    torch.manual_seed(0)
    plain = ECAMobileNetV2(out_indices=(7, ))
    cp_model = ECAMobileNetV2(out_indices=(7, ), with_cp=True)
    cp_model.load_state_dict(plain.state_dict())
    x1 = torch.randn(2, 3, 32, 32, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    out1, out2 = plain(x1)[0], cp_model(x2)[0]
    torch.testing.assert_close(out1, out2)
    out1.sum().backward()
    out2.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(plain.layer5[0].eca.conv.weight.grad,
                               cp_model.layer5[0].eca.conv.weight.grad)


def test_eca_conv_keeps_pytorch_default_init():
    torch.manual_seed(0)
    model = ECAMobileNetV2()
    before = model.layer5[0].eca.conv.weight.clone()
    model.init_weights()  # Kaiming targets Conv2d, Constant the norms
    torch.testing.assert_close(model.layer5[0].eca.conv.weight, before)


def test_retinanet_config_builds_and_runs():
    cfg = Config.fromfile(CONFIG)
    assert cfg.model.backbone.type == 'ECAMobileNetV2'
    assert 'depth' not in cfg.model.backbone  # ResNet's keys are replaced
    model = MODELS.build(cfg.model).eval()
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        outs = model.backbone(x)
        assert [o.shape[1] for o in outs] == cfg.model.neck.in_channels
        # strides 8 to 128, those of the anchor generator
        feats = model.extract_feat(x)
        assert [96 // f.shape[-1] for f in feats[:3]] == [8, 16, 32]
        assert len(feats) == 5
        sample = DetDataSample(metainfo=dict(
            img_shape=(96, 96), ori_shape=(96, 96), scale_factor=(1., 1.)))
        (result, ) = model.predict(x, [sample])
    assert result.pred_instances.bboxes.shape[1] == 4
