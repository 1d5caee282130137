"""tools/compare_attention.py: the variants, the summary, and a --quick
study run end to end through tools/train.py."""
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

from attention_study import backbones  # noqa: F401  (registers SEResNet)
from attention_study.runs import RunResult, read_run
from attention_study.summary import compare, mean_std, summarize
from attention_study.variants import check_variants, variant_backbone
from demo_utils import DEMO_CONFIG, epoch_options
from mmdet_eca.errors import ConfigError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ECA = dict(type='ECAResNet', depth=18, base_channels=16,
           eca_kernel_sizes='adaptive', init_cfg=None)


def test_variants_change_only_the_attention():
    none = variant_backbone(ECA, 'none')
    assert none == dict(type='ResNet', depth=18, base_channels=16,
                        init_cfg=None)
    se = variant_backbone(ECA, 'se')
    assert se == dict(none, type='SEResNet')
    assert variant_backbone(ECA, 'eca') == ECA
    assert variant_backbone(ECA, 'eca-k3')['eca_kernel_sizes'] == '3333'
    assert variant_backbone(ECA, 'eca-k3577')['eca_kernel_sizes'] == '3577'
    v1d = variant_backbone(dict(ECA, type='ECAResNetV1d'), 'se')
    assert v1d['deep_stem'] and v1d['avg_down']
    assert variant_backbone(dict(ECA, type='ECAResNetV1d'),
                            'none')['type'] == 'ResNetV1d'


@pytest.mark.parametrize('names', [['eca', 'cbam'], ['eca-k4'], ['eca-k35'],
                                   ['se', 'se']])
def test_bad_variants_are_refused(names):
    with pytest.raises(ConfigError, match='variant'):
        check_variants(names)


def test_a_non_eca_backbone_is_refused_by_name():
    with pytest.raises(ConfigError, match="x.py: model.backbone.type is "
                       "'ResNet'"):
        variant_backbone(dict(type='ResNet', depth=18), 'se', 'x.py')


def test_each_variant_builds_with_the_attention_it_names():
    built = {
        v: MODELS.build(variant_backbone(ECA, v))
        for v in ('none', 'se', 'eca')
    }
    for model in built.values():
        model.init_weights()
    sizes = {v: sum(p.numel() for p in m.parameters())
             for v, m in built.items()}
    assert sizes['none'] < sizes['eca'] < sizes['se']
    # ECA adds one [1, 1, k] weight per block: 8 blocks of ResNet-18
    assert sizes['eca'] - sizes['none'] == sum(
        m.eca.conv.weight.numel() for m in built['eca'].modules()
        if hasattr(m, 'eca'))
    assert hasattr(built['se'].layer1[0], 'se')
    # SE gets the zero-initialised last norm that ResNet and ECA-ResNet get
    for model in built.values():
        assert torch.all(model.layer1[0].norm2.weight == 0)
    x = torch.rand(1, 3, 64, 64)
    for model in built.values():
        model.eval()
        assert [o.shape[1] for o in model(x)] == [16, 32, 64, 128]


def test_epoch_options_stretch_the_epoch_schedule():
    cfg = Config(dict(
        train_cfg=dict(max_epochs=12),
        param_scheduler=[
            dict(type='LinearLR', by_epoch=False, begin=0, end=100),
            dict(type='MultiStepLR', by_epoch=True, begin=0, end=12,
                 milestones=[8, 11])
        ]))
    options = epoch_options(cfg, 6, 2)
    assert options == [
        'train_cfg.max_epochs=6', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=6', 'param_scheduler.1.begin=0',
        'param_scheduler.1.end=6', 'param_scheduler.1.milestones=[4,6]'
    ]
    with pytest.raises(ValueError, match='epochs'):
        epoch_options(cfg, 0)


def test_mean_std_and_the_verdict():
    mean, std = mean_std([0.5, 0.7])
    assert mean == pytest.approx(0.6) and std == pytest.approx(0.1414, 1e-3)
    assert math.isnan(mean_std([0.5])[1])
    row = dict(seeds=[0, 1, 2])
    far = compare(dict(row, ap=(0.80, 0.01)), dict(row, ap=(0.70, 0.01)),
                  'ap')
    near = compare(dict(row, ap=(0.71, 0.02)), dict(row, ap=(0.70, 0.02)),
                   'ap')
    assert far.startswith('+0.100') and 'larger than 2 standard' in far
    assert near.startswith('+0.010') and 'within the spread of 3' in near


def _write_scalars(path, records):
    with open(path, 'w') as f:
        for r in records:
            f.write(json.dumps(r) + '\n')


def test_read_run_takes_curves_timing_and_the_last_validation(tmp_path):
    scalars = tmp_path / 'scalars.json'
    _write_scalars(scalars, [
        dict(loss=2.0, lr=0.1, time=9.0, data_time=1.0, step=1),
        dict(loss=1.0, lr=0.1, time=0.5, data_time=0.1, step=2),
        {'coco/bbox_mAP': 0.3, 'coco/segm_mAP': 0.2, 'step': 1},
        dict(loss=0.5, lr=0.1, time=0.7, data_time=0.3, step=3),
        {'coco/bbox_mAP': 0.6, 'coco/segm_mAP': 0.5, 'step': 2},
    ])
    run = read_run(str(scalars), 'eca', 0)
    assert run.final == {'bbox_mAP': 0.6, 'segm_mAP': 0.5}
    assert run.loss == [(1, 2.0), (2, 1.0), (3, 0.5)]
    assert run.ap == {'bbox': [(1, 0.3), (2, 0.6)],
                      'segm': [(1, 0.2), (2, 0.5)]}
    # the first window (warm-up) is left out of the timing
    assert run.time == pytest.approx(0.6)
    assert run.data_time == pytest.approx(0.2)
    _write_scalars(scalars, [dict(loss=1.0, lr=0.1, step=1)])
    with pytest.raises(ValueError, match='validation'):
        read_run(str(scalars), 'eca', 0)


def test_summarize_groups_runs_by_variant():
    runs = [RunResult('eca', s, {'bbox_mAP': 0.5 + s / 10, 'segm_mAP': 0.4},
                      time=1.0, data_time=0.1) for s in range(3)]
    runs.append(RunResult('none', 0, {'bbox_mAP': 0.3, 'segm_mAP': 0.2}))
    rows = summarize(runs, {'eca': dict(params=10)}, ['none', 'eca'])
    assert [r['variant'] for r in rows] == ['none', 'eca']
    assert rows[1]['seeds'] == [0, 1, 2] and rows[1]['params'] == 10
    assert rows[1]['bbox_mAP'] == pytest.approx((0.6, 0.1))
    assert rows[0]['bbox_mAP'][0] == 0.3 and math.isnan(rows[0]['bbox_mAP'][1])


def study(*args, timeout=900):
    # one compute thread per run: the two cores are shared with other test
    # runs, where two threads per process wait on each other
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run(
        [sys.executable, 'tools/compare_attention.py'] + list(args),
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope='module')
def quick_study(tmp_path_factory):
    work = tmp_path_factory.mktemp('study')
    # two runs at once: their results still come back in seed-major order
    proc = study('--quick', '--jobs', '2', '--work-dir', str(work))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return work, proc.stdout


def test_quick_study_tables_every_variant_with_a_spread(quick_study):
    work, stdout = quick_study
    with open(work / 'results.json') as f:
        study = json.load(f)
    rows = {r['variant']: r for r in study['variants']}
    assert list(rows) == ['none', 'se', 'eca']
    for row in rows.values():
        assert row['seeds'] == [0, 1]
        for key in ('bbox_mAP', 'segm_mAP', 'time'):
            mean, std = row[key]
            assert not math.isnan(mean) and not math.isnan(std)
    assert (rows['none']['backbone_params'] < rows['eca']['backbone_params']
            < rows['se']['backbone_params'])
    assert rows['none']['macs'] < rows['se']['macs']
    assert len(study['runs']) == 6
    assert [(r['variant'], r['seed']) for r in study['runs']] == [
        (v, seed) for seed in (0, 1) for v in ('none', 'se', 'eca')]
    # every run logged a loss curve and an AP after each of its 2 epochs
    for run in study['runs']:
        assert len(run['loss']) >= 2
        assert [step for step, _ in run['ap']['bbox']] == [1, 2]
    markdown = (work / 'results.md').read_text()
    assert '2 runs at once with 1 compute thread(s) each' in markdown
    for variant in rows:
        assert f'| {variant} | 2 |' in markdown
    assert 'eca - se' in markdown and 'eca - none' in markdown
    assert (work / 'curves.png').stat().st_size > 10000
    # each run is a tools/train.py command on a written variant config
    assert 'python tools/train.py' in stdout
    se_cfg = Config.fromfile(str(work / 'configs' / 'se.py'))
    assert se_cfg.model.backbone.type == 'SEResNet'
    assert 'attention_study.backbones' in se_cfg.custom_imports.imports


def test_a_second_study_keeps_the_finished_runs(quick_study):
    work, _ = quick_study
    before = (work / 'runs' / 'eca' / 'seed0' / 'result.json').stat()
    proc = study('--quick', '--work-dir', str(work), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count('done before, kept') == 6
    assert 'python tools/train.py' not in proc.stdout
    after = (work / 'runs' / 'eca' / 'seed0' / 'result.json').stat()
    assert after.st_mtime_ns == before.st_mtime_ns


def test_bad_variant_fails_in_one_line(tmp_path):
    proc = study('--variants', 'cbam', '--work-dir', str(tmp_path),
                 timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: unknown attention variant 'cbam': expected none, se, eca, "
        'eca-identity, or eca-k with one or four odd digits (eca-k3, '
        'eca-k3577)'
    ]


def test_bad_jobs_fails_in_one_line(tmp_path):
    proc = study('--quick', '--jobs', '0', '--work-dir', str(tmp_path),
                 timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        'error: --jobs must be at least 1, got 0']
    assert not (tmp_path / 'runs').exists()


def test_demo_config_is_the_default():
    assert osp.isfile(osp.join(REPO, DEMO_CONFIG))
