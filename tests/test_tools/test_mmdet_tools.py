"""The shipped configs under MMDetection's own tools/train.py and
tools/test.py (the copies inside the installed mmdet package, which
``mim train mmdet`` / ``mim test mmdet`` run): the project's guarantees
come with the config, not with the project's tools."""
import os
import os.path as osp
import subprocess
import sys

import mmdet
import pytest
import torch

from tiny_runs import tiny_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs/demo/mask_rcnn_ecanet18_fpn_shapes_demo.py')
MMDET_TOOLS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')
PROJECT_HOOKS = ('AtomicCheckpointHook', 'RandomStateHook', 'CheckedLoadHook',
                 'ScaleLRHook', 'ClassCountHook', 'FuseECAPluginsHook')


def mmdet_tool(name, *args, cwd):
    """Run MMDetection's own tools/<name>.py in ``cwd`` (not the repo, so
    nothing of this checkout but the installed package is on the path)."""
    # one thread: bit-equal runs need the same thread count
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    return subprocess.run(
        [sys.executable, osp.join(MMDET_TOOLS, f'{name}.py'), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def write_config(data_root, work_dir, path, max_epochs):
    """The demo config (which inherits the shipped ECA Mask R-CNN config) on
    the tiny dataset, deterministic, no validation between epochs."""
    cfg = tiny_config(DEMO, data_root, work_dir, max_epochs=max_epochs)
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.dump(str(path))
    return str(path)


@pytest.fixture(scope='module')
def straight(shapes_data, tmp_path_factory):
    """An uninterrupted 2-epoch run through MMDetection's tools/train.py."""
    root = tmp_path_factory.mktemp('mmdet_straight')
    config = write_config(shapes_data, root / 'work', root / 'cfg.py', 2)
    proc = mmdet_tool('train', config, cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / 'work', proc.stdout + proc.stderr


def test_mmdet_train_runs_the_project_hooks(straight):
    _, log = straight
    table = log[log.index('Hooks will be executed in the following order'):]
    for hook in PROJECT_HOOKS:
        assert hook in table, hook
    # MMEngine's own checkpoint hook is replaced, not joined
    assert '(VERY_LOW    ) CheckpointHook' not in table


def test_mmdet_train_checkpoints_carry_the_random_states(straight):
    work, _ = straight
    meta = torch.load(work / 'epoch_1.pth')['meta']
    assert set(meta['rng_state']) >= {'python', 'numpy', 'torch'}
    assert not any(p.name.endswith('.tmp') for p in work.iterdir())


def test_mmdet_resume_is_bit_identical(straight, shapes_data, tmp_path):
    straight_work, _ = straight
    work = tmp_path / 'work'
    # the same schedule stopped after epoch 1, then resumed to epoch 2
    first = write_config(shapes_data, work, tmp_path / 'first.py', 1)
    proc = mmdet_tool('train', first, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    second = write_config(shapes_data, work, tmp_path / 'second.py', 2)
    proc = mmdet_tool('train', second, '--resume', cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert 'Restored the random generators of the checkpoint' in log

    resumed = torch.load(work / 'epoch_2.pth')
    expected = torch.load(straight_work / 'epoch_2.pth')
    assert resumed['meta']['iter'] == expected['meta']['iter'] == 4
    for key, value in expected['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key


def test_mmdet_test_names_a_truncated_checkpoint(straight, shapes_data,
                                                 tmp_path):
    straight_work, _ = straight
    config = write_config(shapes_data, tmp_path / 'work', tmp_path / 'c.py',
                          2)
    whole = (straight_work / 'epoch_2.pth').read_bytes()
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(whole[:len(whole) // 2])
    proc = mmdet_tool('test', config, str(truncated), cwd=tmp_path)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f'mmdet_eca.errors.CheckpointError: {truncated}: '
                           'is truncated or corrupted'), last


def test_mmdet_test_evaluates_a_fitting_checkpoint(straight, shapes_data,
                                                   tmp_path):
    straight_work, _ = straight
    config = write_config(shapes_data, tmp_path / 'work', tmp_path / 'c.py',
                          2)
    proc = mmdet_tool('test', config, str(straight_work / 'epoch_2.pth'),
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'coco/bbox_mAP' in proc.stdout + proc.stderr
