"""A run killed while saving a checkpoint leaves the previous one intact,
pointed at by last_checkpoint, and --resume continues from it."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.runner import Runner

from mmdet_eca.engine import (AtomicCheckpointHook, CheckedLoadHook,
                              RandomStateHook, SafeRunner, build_runner)
from .crash_in_save import CRASH_EXIT_CODE
from tool_modules import load_tool
from ..helpers import REPO, deterministic_config

HERE = osp.dirname(osp.abspath(__file__))


def test_crash_while_saving_keeps_the_previous_checkpoint(
        shapes_data, tmp_path):
    work = tmp_path / 'work'
    # max_keep_ckpts=1: MMEngine's own hook deletes epoch_1.pth *before*
    # writing epoch_2.pth, so this crash would leave nothing to resume
    cfg = deterministic_config(shapes_data, work, max_keep_ckpts=1)
    cfg_file = str(tmp_path / 'tiny.py')
    cfg.dump(cfg_file)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([
        sys.executable,
        osp.join(HERE, 'crash_in_save.py'), '2', 'tools/train.py', cfg_file
    ],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=600)
    assert proc.returncode == CRASH_EXIT_CODE, proc.stderr[-3000:]

    previous = work / 'epoch_1.pth'
    assert (work / 'last_checkpoint').read_text() == str(previous)
    assert torch.load(previous)['meta']['iter'] == 2
    assert not (work / 'epoch_2.pth').exists()
    assert (work / 'epoch_2.pth.tmp').stat().st_size > 0  # the torn write

    assert load_tool('train').main([cfg_file, '--resume']) == 0
    saved = torch.load(work / 'epoch_2.pth')
    assert (saved['meta']['epoch'], saved['meta']['iter']) == (2, 4)
    assert (work / 'last_checkpoint').read_text() == str(
        work / 'epoch_2.pth')
    # the previous checkpoint and the torn temporary file are gone
    assert sorted(p.name for p in work.iterdir()
                  if p.name.startswith('epoch_')) == ['epoch_2.pth']


@pytest.mark.parametrize('build', [build_runner, Runner.from_cfg])
def test_the_config_selects_the_hooks(shapes_data, tmp_path, build):
    # through SafeRunner (runner_type) and through a plain Runner alike
    cfg = deterministic_config(shapes_data, tmp_path)
    runner = build(cfg)
    hooks = {type(h): h for h in runner.hooks}
    assert hooks[AtomicCheckpointHook].max_keep_ckpts == -1
    assert CheckpointHook not in hooks  # replaced, not joined
    assert RandomStateHook in hooks and CheckedLoadHook in hooks
    assert isinstance(runner, SafeRunner) == (build is build_runner)
