"""Every shipped config loads, builds, trains one iteration and evaluates."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from tiny_runs import tiny_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Detector configs; configs/deploy/ holds mmdeploy's deploy configs, which
# tests/test_tools/test_deploy.py runs.
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                       recursive=True)
    if '_base_' not in p and f'{osp.sep}deploy{osp.sep}' not in p)
COCO_CONFIGS = [c for c in CONFIGS if c.endswith('_coco.py')]


def test_the_promised_configs_exist():
    for det in ('mask_rcnn', 'faster_rcnn', 'retinanet'):
        for depth in (50, 101):
            assert f'configs/{det}_ecanet{depth}_fpn_1x_coco.py' in CONFIGS


@pytest.mark.parametrize('config', COCO_CONFIGS)
def test_coco_config_uses_eca_and_mmdet_bases(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.custom_imports == dict(
        imports=['mmdet_eca'], allow_failed_imports=False)
    assert cfg.model.backbone.type.startswith('ECA')
    # the project's runtime (configs/_base_/eca_runtime.py)
    assert cfg.runner_type == 'SafeRunner'
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    # ScaleLRHook scales from the schedule's own base batch
    assert cfg.custom_hooks == [
        dict(type='ClassCountHook', allow_extra_classes=False),
        dict(type='ScaleLRHook'), dict(type='RandomStateHook'),
        dict(type='CheckedLoadHook')]
    assert cfg.auto_scale_lr.enable is False
    assert cfg.auto_scale_lr.base_batch_size in (16, 32)
    # COCO 2017 in MMDetection's layout
    assert cfg.train_dataloader.dataset.data_root == 'data/coco/'
    assert cfg.val_evaluator.type == 'CocoMetric'
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.checkpoint.startswith(
        'checkpoints/')
    assert inherits_mmdet(osp.join(REPO, config))


def inherits_mmdet(path):
    """Whether the config, or the shipped config it inherits, has an
    ``mmdet::`` base."""
    source = open(path).read()
    if re.search(r"^_base_ = \[?\s*'mmdet::", source, re.M):
        return True
    local = re.search(r"^_base_ = '\./(\S+\.py)'", source, re.M)
    return bool(local) and inherits_mmdet(
        osp.join(osp.dirname(path), local.group(1)))


# The legacy_1.x configs differ from the ECA-50/101 R-CNNs below only in
# inference settings; tests/test_checkpoint/test_mmdet_v1.py runs them.
@pytest.mark.parametrize(
    'config', [c for c in CONFIGS if not c.startswith('configs/legacy_1.x/')])
def test_config_trains_one_iteration_and_evaluates(config, shapes_data,
                                                    tmp_path):
    cfg = tiny_config(
        osp.join(REPO, config), shapes_data, tmp_path, batch_size=2)
    # one iteration: 4 train images would be two, so use one batch of them
    cfg.train_dataloader.batch_size = 4
    runner = Runner.from_cfg(cfg)
    assert type(runner.model.backbone).__name__.startswith('ECA')
    runner.train()
    assert runner.iter == 1
    metrics = runner.val_loop.run()
    assert 'coco/bbox_mAP' in metrics
    if 'mask_head' in cfg.model.get('roi_head', {}):
        assert 'coco/segm_mAP' in metrics


def test_custom_imports_alone_registers_the_backbone(tmp_path):
    """A user's own config needs only the custom_imports line: in a fresh
    interpreter that never imported mmdet_eca, MMDetection's MODELS.build
    makes a Mask R-CNN on ECAResNet from it."""
    import subprocess
    import sys
    user_cfg = tmp_path / 'my_mask_rcnn.py'
    user_cfg.write_text(
        "_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'\n"
        "custom_imports = dict(imports=['mmdet_eca'], "
        "allow_failed_imports=False)\n"
        "model = dict(backbone=dict(type='ECAResNet', depth=50, "
        "init_cfg=None))\n")
    script = (
        'import sys\n'
        'from mmengine.config import Config\n'
        'from mmdet.registry import MODELS\n'
        'from mmdet.utils import register_all_modules\n'
        "assert 'mmdet_eca' not in sys.modules\n"
        f'cfg = Config.fromfile({str(user_cfg)!r})\n'
        'register_all_modules()\n'
        'model = MODELS.build(cfg.model)\n'
        'print(type(model).__name__, type(model.backbone).__name__,\n'
        '      model.backbone.eca_kernel_sizes)\n')
    proc = subprocess.run([sys.executable, '-c', script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split('\n')[-2] == 'MaskRCNN ECAResNet (3, 5, 5, 7)'
