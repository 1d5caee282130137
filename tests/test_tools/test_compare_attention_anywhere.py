"""tools/compare_attention.py on the ECA-anywhere configs: variants of ECA
plugins, of RTMDet's and YOLOX's CSP backbones and of an ECA neck, and a
--quick study of RTMDet-tiny end to end."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from attention_study import backbones  # noqa: F401  (registers SEPlugin)
from attention_study.variants import variant_model
from mmdet_eca.errors import ConfigError
from mmdet_eca.layers import ECA

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RTMDET = 'configs/rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py'
PLUGIN = dict(cfg=dict(type='ECA'), position='after_conv3')
CONTEXT = dict(cfg=dict(type='ContextBlock', ratio=0.25),
               position='after_conv3')


def model_with(backbone, neck=None):
    return dict(type='FasterRCNN', backbone=backbone,
                neck=neck or dict(type='FPN'))


def test_plugin_variants_change_only_the_eca_entries():
    backbone = dict(type='ResNeXt', depth=50, plugins=[CONTEXT, PLUGIN])
    model = model_with(backbone)
    assert variant_model(model, 'eca') == model
    assert variant_model(model, 'none')['backbone']['plugins'] == [CONTEXT]
    se = variant_model(model, 'se')['backbone']['plugins']
    assert se == [CONTEXT, dict(PLUGIN, cfg=dict(type='SEPlugin'))]
    k3 = variant_model(model, 'eca-k3')['backbone']['plugins']
    assert k3 == [CONTEXT, dict(PLUGIN, cfg=dict(type='ECA', kernel_size=3))]
    per_stage = variant_model(model, 'eca-k3577')['backbone']['plugins']
    assert [p['cfg'].get('kernel_size') for p in per_stage] == [
        None, 3, 5, 7, 7]
    assert per_stage[4]['stages'] == (False, False, False, True)
    alone = model_with(dict(backbone, plugins=[PLUGIN]))
    assert variant_model(alone, 'none')['backbone']['plugins'] is None
    assert model['backbone']['plugins'] == [CONTEXT, PLUGIN]  # untouched


def test_plugin_variants_build_with_the_attention_they_name():
    init_default_scope('mmdet')
    backbone = dict(type='ResNeXt', depth=50, groups=4, base_width=4,
                    stem_channels=16, base_channels=16, plugins=[PLUGIN])
    built = {
        v: MODELS.build(variant_model(model_with(backbone), v)['backbone'])
        for v in ('none', 'se', 'eca', 'eca-k3')
    }
    block = {v: m.layer1[0] for v, m in built.items()}
    assert not hasattr(block['none'], 'eca') and not hasattr(
        block['none'], 'se')
    assert type(block['se'].se).__name__ == 'SEPlugin'
    assert isinstance(block['eca'].eca, ECA)
    assert block['eca-k3'].eca.kernel_size == 3
    x = torch.randn(1, 3, 32, 32)
    for model in built.values():
        model.eval()
        assert [o.shape[1] for o in model(x)] == [64, 128, 256, 512]


def test_csp_variants():
    rtmdet = model_with(dict(type='ECACSPNeXt', channel_attention=True,
                             eca_kernel_size=None))
    none = variant_model(rtmdet, 'none')['backbone']
    assert none == dict(type='CSPNeXt', channel_attention=False)
    # RTMDet's own C x C attention is the stock variant
    assert variant_model(rtmdet, 'se')['backbone'] == dict(
        type='CSPNeXt', channel_attention=True)
    assert variant_model(rtmdet, 'eca-k5')['backbone']['eca_kernel_size'] == 5
    with pytest.raises(ConfigError, match='eca-k<digit>'):
        variant_model(rtmdet, 'eca-k3557')
    yolox = model_with(dict(type='ECACSPDarknet', deepen_factor=0.33))
    assert variant_model(yolox, 'none')['backbone'] == dict(
        type='CSPDarknet', deepen_factor=0.33)
    with pytest.raises(ConfigError, match='no stock channel attention'):
        variant_model(yolox, 'se', 'y.py')


def test_neck_variants_and_a_model_without_eca():
    model = model_with(dict(type='ResNet', depth=50),
                       dict(type='ECAFPN', out_channels=256))
    assert variant_model(model, 'none')['neck'] == dict(type='FPN',
                                                        out_channels=256)
    assert variant_model(model, 'eca-k3')['neck']['eca_kernel_size'] == 3
    with pytest.raises(ConfigError, match='no SE form'):
        variant_model(model, 'se')
    stock = model_with(dict(type='ResNet', depth=50))
    with pytest.raises(ConfigError, match='x.py: the model has no ECA'):
        variant_model(stock, 'none', 'x.py')


@pytest.fixture(scope='module')
def rtmdet_study(tmp_path_factory):
    work = tmp_path_factory.mktemp('rtmdet_study')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/compare_attention.py', '--quick', '--config',
         RTMDET, '--work-dir', str(work)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return work


def test_quick_rtmdet_study_compares_none_stock_and_eca(rtmdet_study):
    with open(rtmdet_study / 'results.json') as f:
        study = json.load(f)
    rows = {r['variant']: r for r in study['variants']}
    assert list(rows) == ['none', 'se', 'eca']
    for row in rows.values():
        assert row['seeds'] == [0, 1]
        assert not math.isnan(row['bbox_mAP'][0])
    # stock: C^2 + C weights per CSP layer; ECA: k per layer
    params = {v: r['backbone_params'] for v, r in rows.items()}
    assert params['none'] < params['eca'] < params['se']
    assert params['eca'] - params['none'] == 3 + 3 + 5 + 5
    se_cfg = Config.fromfile(str(rtmdet_study / 'configs' / 'se.py'))
    assert se_cfg.model.backbone.type == 'CSPNeXt'
    assert se_cfg.model.backbone.channel_attention is True


def test_a_short_study_of_yolox_keeps_every_scheduler_valid():
    # YOLOX's last phase (ConstantLR, epochs 285-300) shrinks to 2-2 at
    # two epochs, which MMEngine would refuse
    from demo_utils import epoch_options
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/yolox/yolox_s-eca_8xb8-300e_coco.py'))
    options = [o.split('=', 1) for o in epoch_options(cfg, 2)
               if o.startswith('param_scheduler')]
    cfg.merge_from_dict({key: int(value) for key, value in options})
    for sched in cfg.param_scheduler:
        assert sched['begin'] < sched['end'], sched
