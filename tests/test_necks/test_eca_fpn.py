"""ECA on the pyramid's output levels: ECAFPN and ECAPAFPN, alone and in a
two-stage (Faster R-CNN) and a one-stage (RetinaNet) detector."""
import os.path as osp

import pytest
import torch
from mmdet.models.necks import FPN, PAFPN

from detector_steps import build_detector, detector_config, training_step
from mmdet_eca.layers import ECA
from mmdet_eca.necks import ECAFPN, ECAPAFPN

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IN_CHANNELS = [16, 32, 64, 128]


def pyramid_inputs():
    torch.manual_seed(1)
    return tuple(
        torch.randn(2, c, 32 // 2**i, 32 // 2**i)
        for i, c in enumerate(IN_CHANNELS))


@pytest.mark.parametrize('stock,with_eca', [(FPN, ECAFPN),
                                            (PAFPN, ECAPAFPN)])
@pytest.mark.parametrize('extra', [{}, dict(start_level=1,
                                            add_extra_convs='on_input')])
def test_outputs_are_the_stock_outputs_attended(stock, with_eca, extra):
    kwargs = dict(in_channels=IN_CHANNELS, out_channels=32, num_outs=5,
                  **extra)
    plain, neck = stock(**kwargs), with_eca(**kwargs)
    # the stock neck's weights load under the same names; only the ECA
    # weights are new
    missing, unexpected = neck.load_state_dict(plain.state_dict(),
                                               strict=False)
    assert unexpected == []
    assert missing == [f'eca.{i}.conv.weight' for i in range(5)]
    assert all(isinstance(e, ECA) and e.kernel_size == 3 for e in neck.eca)
    with torch.no_grad():
        for e in neck.eca:
            e.conv.weight.uniform_(-1, 1)
        inputs = pyramid_inputs()
        expected = [e(o) for e, o in zip(neck.eca, plain(inputs))]
        outs = neck(inputs)
    assert len(outs) == 5
    for out, exp in zip(outs, expected):
        torch.testing.assert_close(out, exp)


def test_fixed_kernel_size():
    neck = ECAFPN(in_channels=IN_CHANNELS, out_channels=256, num_outs=5,
                  eca_kernel_size=3)
    assert [e.kernel_size for e in neck.eca] == [3] * 5
    assert ECAFPN(in_channels=IN_CHANNELS, out_channels=256,
                  num_outs=5).eca[0].kernel_size == 5  # adaptive for 256


def tiny(model, head_key):
    """Shrink a ResNet-50 + FPN detector config to widths of 16-32."""
    model.backbone.update(depth=18, stem_channels=16, base_channels=16)
    model.neck.update(in_channels=IN_CHANNELS, out_channels=32)
    if head_key == 'rpn_head':
        model.rpn_head.update(in_channels=32, feat_channels=32)
        model.roi_head.bbox_roi_extractor.out_channels = 32
        model.roi_head.bbox_head.update(in_channels=32, fc_out_channels=64,
                                        num_classes=3)
    else:
        model.bbox_head.update(in_channels=32, feat_channels=32,
                               num_classes=3)
    return model


def check_detector(model, num_levels):
    ecas = list(model.neck.eca)
    assert len(ecas) == num_levels
    training_step(model)
    # every level's attention took part in the loss
    for e in ecas:
        assert e.conv.weight.grad is not None
        assert e.conv.weight.grad.abs().sum() > 0


def test_two_stage_faster_rcnn_with_the_shipped_config():
    model = detector_config(
        osp.join(REPO, 'configs/eca_neck/faster-rcnn_r50_eca-fpn_1x_coco.py'))
    assert model.neck.type == 'ECAFPN'
    detector = build_detector(tiny(model, 'rpn_head'))
    # P2-P5 and the max-pooled P6 that the RPN reads
    check_detector(detector, 5)


def test_one_stage_retinanet(tmp_path):
    config = tmp_path / 'retinanet_eca-fpn.py'
    config.write_text(
        "_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'\n"
        "custom_imports = dict(imports=['mmdet_eca'], "
        "allow_failed_imports=False)\n"
        "model = dict(neck=dict(type='ECAFPN'))\n")
    detector = build_detector(tiny(detector_config(str(config)),
                                   'bbox_head'))
    # P3-P5 and the extra convolutions' P6, P7
    check_detector(detector, 5)
