"""Every shipped config loads, builds, trains one iteration and evaluates."""
import copy
import glob
import os.path as osp
import re
import tempfile

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from demo_utils import inner_dataset
from tiny_runs import tiny_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Detector configs; configs/deploy/ holds mmdeploy's deploy configs, which
# tests/test_tools/test_deploy.py runs, and configs/mmpretrain/ ImageNet
# recipes, which tests/test_pretrain runs where mmpretrain is installed.
CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                       recursive=True)
    if '_base_' not in p and f'{osp.sep}deploy{osp.sep}' not in p
    and f'{osp.sep}mmpretrain{osp.sep}' not in p)
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
    assert has_eca(cfg.model)
    # the project's runtime (configs/_base_/eca_runtime.py)
    assert cfg.runner_type == 'SafeRunner'
    assert cfg.default_hooks.checkpoint.type == 'AtomicCheckpointHook'
    # ScaleLRHook scales from the schedule's own base batch; the base
    # config's own hooks (RTMDet's, YOLOX's) are kept before the project's
    assert cfg.custom_hooks[-5:] == [
        dict(type='ClassCountHook', allow_extra_classes=False),
        dict(type='ScaleLRHook'), dict(type='RandomStateHook'),
        dict(type='CheckedLoadHook'), dict(type='FuseECAPluginsHook')]
    assert cfg.auto_scale_lr.enable is False
    assert cfg.auto_scale_lr.base_batch_size == base_batch_of(config) or (
        base_batch_of(config) is None
        and cfg.auto_scale_lr.base_batch_size in (16, 32))
    # COCO 2017 in MMDetection's layout
    assert inner_dataset(cfg.train_dataloader.dataset).data_root == \
        'data/coco/'
    assert cfg.val_evaluator.type == 'CocoMetric'
    init = cfg.model.backbone.get('init_cfg')
    if config.startswith(STOCK_WEIGHTS_FOLDERS):
        # no ECA weights exist for these backbones: MMDetection's own
        assert init == stock_config(config).model.backbone.get('init_cfg')
    else:
        assert init.type == 'Pretrained' and init.checkpoint.startswith(
            'checkpoints/')
    assert inherits_mmdet(osp.join(REPO, config))


def has_eca(model):
    backbone, neck = model.backbone, model.get('neck') or {}
    return (backbone.type.startswith('ECA') or neck.get('type', '')
            .startswith('ECA') or any(p.cfg.type == 'ECA'
                                      for p in backbone.get('plugins') or []))


def base_batch_of(config):
    """GPUs x images per GPU as the file name gives them (``8xb32``: 256),
    or None."""
    match = re.search(r'_(\d+)xb(\d+)', config)
    return int(match.group(1)) * int(match.group(2)) if match else None


# ECA anywhere (docs/add_eca.md): each config is an MMDetection config with
# only the attention changed
STOCK_WEIGHTS_FOLDERS = ('configs/eca_plugins/', 'configs/eca_neck/',
                         'configs/rtmdet/', 'configs/yolox/')
ANYWHERE = [c for c in CONFIGS if c.startswith(STOCK_WEIGHTS_FOLDERS)]
ANYWHERE_DEMOS = ('configs/demo/rtmdet_tiny-eca_shapes_demo.py',
                  'configs/demo/yolox_s-eca_shapes_demo.py')


def stock_config(config):
    """The MMDetection config that ``config`` names as its base."""
    base = re.search(r"^_base_ = \[?\s*'(mmdet::\S+?\.py)'",
                     open(osp.join(REPO, config)).read(), re.M).group(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'stock.py')
        with open(path, 'w') as f:
            f.write(f'_base_ = {base!r}\n')
        return Config.fromfile(path)


def without_eca(model):
    """``model`` with its ECA taken out as the config put it in."""
    model = copy.deepcopy(model.to_dict())
    backbone, neck = model['backbone'], model.get('neck', {})
    plugins = [p for p in backbone.pop('plugins', None) or []
               if p['cfg']['type'] != 'ECA']
    if plugins:
        backbone['plugins'] = plugins
    backbone['type'] = {'ECACSPNeXt': 'CSPNeXt', 'ECACSPDarknet':
                        'CSPDarknet'}.get(backbone['type'], backbone['type'])
    if neck.get('type') == 'ECAFPN':
        neck['type'] = 'FPN'
    return model


def test_the_issue_21_configs_exist():
    assert set(ANYWHERE) >= {
        'configs/eca_plugins/mask-rcnn_x101-32x4d-eca_fpn_1x_coco.py',
        'configs/eca_plugins/faster-rcnn_regnetx-3.2GF-eca_fpn_1x_coco.py',
        'configs/eca_neck/faster-rcnn_r50_eca-fpn_1x_coco.py',
        'configs/rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py',
        'configs/yolox/yolox_s-eca_8xb8-300e_coco.py'}


@pytest.mark.parametrize('config', ANYWHERE)
def test_config_changes_only_the_attention(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    stock = stock_config(config)
    assert without_eca(cfg.model) == stock.model.to_dict()
    # the rest of the recipe is MMDetection's too
    for key in ('train_dataloader', 'val_dataloader', 'optim_wrapper',
                'param_scheduler', 'train_cfg'):
        assert cfg[key] == stock[key], key
    hooks = [h['type'] for h in cfg.custom_hooks[:-5]]
    assert hooks == [h['type'] for h in stock.get('custom_hooks', [])]


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
# inference settings; tests/test_checkpoint/test_mmdet_v1.py runs them. The
# ECA-anywhere configs train through MMDetection's own tools in
# tests/test_tools/test_mmdet_tools_anywhere.py.
@pytest.mark.parametrize('config', [
    c for c in CONFIGS
    if not c.startswith(('configs/legacy_1.x/', ) + STOCK_WEIGHTS_FOLDERS +
                        ANYWHERE_DEMOS)
])
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
    if cfg.model.get('roi_head', {}).get('mask_head'):
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
