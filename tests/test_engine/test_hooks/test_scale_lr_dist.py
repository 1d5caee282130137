"""ScaleLRHook in a real 2-process run (torchrun, gloo, CPU).

One torchrun call trains the toy set-up from scratch on 2 processes and
then resumes, on 2 processes, a checkpoint written by a 1-process run.
Both must use the 2-process lr: 2 x 2 images / 16 = factor 0.25.
"""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

import mmdet_eca  # noqa: F401  (registers ScaleLRHook)
from mmdet_eca.engine import build_runner

from . import scale_lr_toy as toy

HERE = osp.dirname(osp.abspath(__file__))
REL = 1e-9


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def expected(factor, iters):
    return [[t, [factor * toy.unscaled_lr('step', t)]] for t in iters]


def assert_lrs(found, wanted):
    assert [t for t, _ in found] == [t for t, _ in wanted]
    for (t, lrs), (_, want) in zip(found, wanted):
        assert lrs == pytest.approx(want, rel=REL), f'iteration {t}'


@pytest.fixture(scope='module')
def dist_results(tmp_path_factory):
    # the checkpoint to resume: 1 process, factor 0.125, stopped at 6/12
    one = build_runner(toy.make_cfg(
        str(tmp_path_factory.mktemp('one_process')), stop_at=6))
    with pytest.raises(toy.StopHere):
        one.train()
    ckpt = osp.join(one.work_dir, 'iter_6.pth')
    assert_lrs([list(r) for r in
                toy.get_hook(one, toy.LRRecorderHook).records],
               expected(0.125, range(6)))

    out = tmp_path_factory.mktemp('two_processes')
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(
                   [HERE, os.environ.get('PYTHONPATH', '')]))
    env.pop('CUDA_VISIBLE_DEVICES', None)
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nnodes=1',
         '--nproc_per_node=2', '--master_addr=127.0.0.1',
         f'--master_port={free_port()}',
         osp.join(HERE, 'dist_scale_lr.py'), '--out', str(out),
         '--resume-from', ckpt],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = []
    for rank in (0, 1):
        with open(osp.join(out, f'rank{rank}.json')) as f:
            results.append(json.load(f))
    return results


def test_two_processes_use_two_process_lr(dist_results):
    for result in dist_results:
        assert result['fresh']['world_size'] == 2
        assert_lrs(result['fresh']['records'],
                   expected(0.25, range(toy.MAX_ITERS)))
    assert ('world size 2 x 2 images/GPU x accumulation 1 = effective batch '
            '4; base batch 16; linear factor 0.25; scaled base lr per param '
            'group: 0.005') in dist_results[0]['fresh']['log']


def test_resume_one_process_checkpoint_on_two(dist_results):
    for result in dist_results:
        assert_lrs(result['resume']['records'],
                   expected(0.25, range(6, toy.MAX_ITERS)))
    log = dist_results[0]['resume']['log']
    assert 'resumed epoch: 0, iter: 6' in log
    assert ('resumed at iter 6 from an optimizer state with base lr 0.0025; '
            'now 0.005 ') in log
    assert 'linear factor 0.25; scaled base lr per param group: 0.005' in log
