"""A built wheel, installed as a user installs it, serves the configs.

The wheel is built from a copy of the checkout and installed into the
site-packages of a new virtual environment that sees this environment's
packages (torch, mmcv, mmdet) but not this checkout or its editable
install. Its interpreter then runs MMDetection's own ``tools/train.py`` on
a user's config that inherits a shipped config as
``mmdet_eca::<folder>/<file>.py``, the way configs inherit
``mmdet::mask_rcnn/...``.
"""
import os
import os.path as osp
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile

import mmdet
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MMDET_TOOLS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')
# What a wheel build reads; the rest of the checkout (environments, work
# dirs, data) stays behind.
SOURCES = ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md',
           'requirements.txt', 'requirements-pretrain.txt', 'mmdet_eca',
           'configs', 'tools', 'packaging')


def run(cmd, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    env.pop('PYTHONPATH', None)
    return subprocess.run(cmd, capture_output=True, text=True, env=env,
                          timeout=600, **kwargs)


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    src = tmp_path_factory.mktemp('src')
    for name in SOURCES:
        path = osp.join(REPO, name)
        if osp.isdir(path):
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc', '*.egg-info'))
        else:
            shutil.copy(path, src / name)
    out = tmp_path_factory.mktemp('dist')
    proc = run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                '--no-build-isolation', '--no-index', '-w', str(out),
                str(src)])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (path, ) = out.glob('mmdet_eca-*.whl')
    return path


@pytest.fixture(scope='module')
def user_python(wheel, tmp_path_factory):
    """The interpreter of a new environment with the wheel installed."""
    venv = tmp_path_factory.mktemp('venv')
    proc = run([sys.executable, '-m', 'venv', '--without-pip', str(venv)])
    assert proc.returncode == 0, proc.stderr
    python = str(venv / 'bin' / 'python')
    purelib = run([python, '-c', 'import sysconfig; '
                   'print(sysconfig.get_paths()["purelib"])']).stdout.strip()
    # This environment's packages, as a path line: the .pth files there
    # (this checkout's editable install) are not run.
    with open(osp.join(purelib, 'zz_test_env.pth'), 'w') as f:
        f.write('\n'.join(site.getsitepackages() +
                          [sysconfig.get_paths()['purelib']]) + '\n')
    proc = run([sys.executable, '-m', 'pip', 'install', '--no-deps',
                '--no-index', '--target', purelib, str(wheel)])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return python


def test_the_wheel_carries_configs_tools_and_the_scope_hook(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ('mmdet_eca/.mim/configs/_base_/eca_runtime.py',
                 'mmdet_eca/.mim/configs/mask_rcnn_ecanet50_fpn_1x_coco.py',
                 'mmdet_eca/.mim/configs/mask_rcnn/'
                 'mask_rcnn_ecanet50_fpn_1x_coco.py',
                 'mmdet_eca/.mim/configs/retinanet/'
                 'retinanet_ecaeffb3_fpn_8xb4-crop896-1x_coco.py',
                 'mmdet_eca/.mim/configs/demo/'
                 'mask_rcnn_ecanet18_fpn_shapes_demo.py',
                 'mmdet_eca/.mim/configs/mmpretrain/'
                 'eca-resnet50_8xb32_in1k.py',
                 'mmdet_eca/.mim/tools/train.py',
                 'mmdet_eca/.mim/model-index.yml', 'mmdet_eca_scope.pth',
                 'mmdet_eca_scope.py'):
        assert name in names, name
    assert not any('__pycache__' in n for n in names)


def test_the_wheel_requires_only_what_custom_imports_needs(wheel):
    (meta, ) = [n for n in zipfile.ZipFile(wheel).namelist()
                if n.endswith('.dist-info/METADATA')]
    lines = zipfile.ZipFile(wheel).read(meta).decode().splitlines()
    required = {
        line.split(':', 1)[1].split(';')[0].strip().split('<')[0].split(
            '>')[0].split('=')[0].strip()
        for line in lines
        if line.startswith('Requires-Dist:') and 'extra ==' not in line
    }
    assert required == {'torch', 'mmcv', 'mmengine', 'mmdet', 'numpy'}


def test_the_pretrain_extra_brings_mmpretrain_and_what_it_imports(wheel):
    (meta, ) = [n for n in zipfile.ZipFile(wheel).namelist()
                if n.endswith('.dist-info/METADATA')]
    lines = zipfile.ZipFile(wheel).read(meta).decode().splitlines()
    pretrain = {
        line.split(':', 1)[1].split(';')[0].strip().replace(' ', '')
        for line in lines
        if line.startswith('Requires-Dist:') and '"pretrain"' in line
    }
    assert pretrain == {'mmpretrain==1.2.0', 'model-index',
                        'importlib-metadata<8', 'torchvision'}


def test_the_installed_package_is_the_wheel(user_python, tmp_path):
    proc = run([user_python, '-c', 'import mmdet_eca; '
                'print(mmdet_eca.__file__)'], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not proc.stdout.strip().startswith(REPO), proc.stdout


def test_mmdet_train_on_a_user_config_inheriting_mmdet_eca(
        user_python, shapes_data, tmp_path):
    """MMDetection's own tools/train.py reads the user's config before any
    custom_imports: the wheel's start-up hook lets MMEngine resolve
    ``mmdet_eca::`` there."""
    root = f'{shapes_data}/'
    config = tmp_path / 'my_config.py'
    config.write_text(f"""
_base_ = 'mmdet_eca::demo/mask_rcnn_ecanet18_fpn_shapes_demo.py'
root = {root!r}
train_dataloader = dict(batch_size=2, dataset=dict(data_root=root))
val_dataloader = dict(batch_size=2, dataset=dict(data_root=root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
visualizer = dict(vis_backends=[dict(type='LocalVisBackend')])
default_hooks = dict(checkpoint=dict(interval=1))
""")
    proc = run([user_python, osp.join(MMDET_TOOLS, 'train.py'), str(config),
                '--work-dir', str(tmp_path / 'work')], cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    table = log[log.index('Hooks will be executed in the following order'):]
    for hook in ('AtomicCheckpointHook', 'ScaleLRHook', 'CheckedLoadHook'):
        assert hook in table, hook
    assert 'bbox_mAP' in log
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()


def test_a_shipped_config_by_its_detector_folder(user_python, tmp_path):
    config = tmp_path / 'my_config.py'
    config.write_text(
        "_base_ = 'mmdet_eca::mask_rcnn/mask_rcnn_ecanet50_fpn_1x_coco.py'\n")
    proc = run([user_python, '-c', f"""
import sys
from mmengine.config import Config
cfg = Config.fromfile({str(config)!r}, import_custom_modules=False)
print(cfg.model.backbone.type, cfg.model.backbone.eca_kernel_sizes,
      cfg.runner_type, 'mmdet_eca' in sys.modules)
"""], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # resolved by MMEngine alone, before custom_imports could run
    assert proc.stdout.split() == ['ECAResNet', '3557', 'SafeRunner', 'False']


def test_mim_runs_the_wheels_tools(user_python, tmp_path):
    # `mim train mmdet_eca CONFIG` runs <package>/.mim/tools/train.py
    proc = run([user_python, '-c', 'import mmdet_eca, os; print(os.path.join('
                'os.path.dirname(mmdet_eca.__file__), ".mim", "tools"))'],
               cwd=tmp_path)
    tools = proc.stdout.strip()
    proc = run([user_python, osp.join(tools, 'train.py'), '--help'],
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'examples:' in proc.stdout
