"""tools/compare_attention.py --transfer: a plain backbone pretrained on the
generated classification task, then the detector fine-tuned from it with
attention inserted, end to end on tiny settings (--quick)."""
import json
import math
import os
import os.path as osp
import subprocess
import sys

import torch
from mmengine.config import Config

from attention_study.variants import variant_backbone, variant_model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ECA = dict(type='ECAResNet', depth=18, eca_kernel_sizes='adaptive')


def test_eca_identity_variant_sets_the_mode_and_others_drop_it():
    identity = variant_backbone(ECA, 'eca-identity')
    assert identity == dict(ECA, eca_identity_init=True)
    for variant, kind in (('none', 'ResNet'), ('se', 'SEResNet')):
        assert variant_backbone(identity, variant) == dict(
            type=kind, depth=18)
    # eca is the paper's ECA, whatever the config starts from: the
    # transfer config inserts ECA as the identity
    assert variant_backbone(identity, 'eca') == ECA
    assert variant_backbone(identity, 'eca-k3') == dict(
        ECA, eca_kernel_sizes='3333')
    plugin = dict(type='ResNet', depth=50, plugins=[
        dict(cfg=dict(type='ECA', identity_init=True),
             position='after_conv3')])
    assert variant_model(dict(backbone=plugin), 'eca')['backbone'][
        'plugins'] == [dict(cfg=dict(type='ECA'), position='after_conv3')]
    neck = dict(type='ECAFPN', eca_identity_init=True)
    assert variant_model(dict(backbone=dict(type='ResNet'), neck=neck),
                         'eca')['neck'] == dict(type='ECAFPN')
    assert variant_model(dict(backbone=dict(type='ResNet'), neck=neck),
                         'none')['neck'] == dict(type='FPN')


def test_quick_transfer_study_end_to_end(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, 'tools/compare_attention.py', '--transfer',
         '--quick', '--variants', 'none', 'eca-identity', '--jobs', '2',
         '--work-dir', str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    with open(tmp_path / 'results.json') as f:
        study = json.load(f)
    assert study['transfer'] is True
    rows = {r['variant']: r for r in study['variants']}
    assert list(rows) == ['none', 'eca-identity']
    for row in rows.values():
        assert row['seeds'] == [0, 1]
        mean, std = row['bbox_mAP']
        assert not math.isnan(mean) and not math.isnan(std)
        assert math.isnan(row['segm_mAP'][0])  # boxes only
    # every variant fine-tunes from the one pretrained plain backbone
    pretrained = tmp_path / 'pretrained' / 'plain_resnet.pth'
    checkpoint = torch.load(pretrained, weights_only=True)
    assert 'layer1.0.conv1.weight' in checkpoint['state_dict']
    assert not any('eca' in k for k in checkpoint['state_dict'])
    assert 0 <= checkpoint['meta']['val_accuracy'] <= 1
    for variant in rows:
        cfg = Config.fromfile(str(tmp_path / 'configs' / f'{variant}.py'))
        assert cfg.model.backbone.init_cfg == dict(
            type='Pretrained', checkpoint=str(pretrained))
    identity = Config.fromfile(str(tmp_path / 'configs' /
                                   'eca-identity.py')).model.backbone
    assert identity.type == 'ECAResNet' and identity.eca_identity_init
    # the identity-mode run logged that ECA starts as the identity
    log = (tmp_path / 'runs' / 'eca-identity' / 'seed0' /
           'train.log').read_text()
    assert 'its 8 ECA layers start as the identity' in log
    markdown = (tmp_path / 'results.md').read_text()
    assert 'Attention inserted into a plain-pretrained backbone' in markdown
    assert 'bbox AP, eca-identity - none:' in markdown
    assert 'segm AP, eca-identity' not in markdown
    assert (tmp_path / 'curves.png').stat().st_size > 10000
    for run in study['runs']:
        assert [step for step, _ in run['ap']['bbox']] == [1, 2]
