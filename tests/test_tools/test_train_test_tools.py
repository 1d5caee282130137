"""tools/train.py, tools/test.py and tools/infer.py as a user runs them."""
import copy
import os
import os.path as osp
import pickle
import re
import socket
import subprocess
import sys

import pytest
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from mmdet_eca.engine import build_runner, load_config, setup_train_config
from tiny_runs import tiny_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs/demo/mask_rcnn_ecanet18_fpn_shapes_demo.py')


def run(args, env=None):
    env = dict(env or os.environ, PYTHONUNBUFFERED='1')
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True,
        timeout=600)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='module')
def trained(shapes_data, tmp_path_factory):
    """A 2-epoch run of the demo config (2 iterations per epoch) through
    tools/train.py; returns (config file, work dir)."""
    root = tmp_path_factory.mktemp('trained')
    cfg = tiny_config(DEMO, shapes_data, root / 'work', max_epochs=2)
    cfg_file = str(root / 'tiny_demo.py')
    cfg.dump(cfg_file)
    proc = run([sys.executable, 'tools/train.py', cfg_file])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return cfg_file, root / 'work'


def test_train_writes_checkpoints_and_logs(trained):
    _, work = trained
    assert (work / 'epoch_1.pth').is_file()
    assert (work / 'epoch_2.pth').is_file()
    assert (work / 'last_checkpoint').read_text().strip().endswith(
        'epoch_2.pth')
    ckpt = torch.load(work / 'epoch_2.pth', map_location='cpu')
    assert ckpt['meta']['iter'] == 4 and ckpt['meta']['epoch'] == 2
    assert any('backbone.layer1.0.eca.conv.weight' == k
               for k in ckpt['state_dict'])


def test_test_tool_reports_coco_metrics_and_dumps(trained, tmp_path):
    cfg_file, work = trained
    out = tmp_path / 'results.pkl'
    proc = run([
        sys.executable, 'tools/test.py', cfg_file,
        str(work / 'epoch_2.pth'), '--work-dir',
        str(tmp_path / 'test'), '--out',
        str(out), '--show-dir', 'vis',
        '--cfg-options', 'model.test_cfg.rcnn.score_thr=0.0'
    ])
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    for task in ('bbox', 'segm'):
        for metric in ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l'):
            assert f'coco/{task}_{metric}:' in log
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 2  # one entry per val image
    drawn = [f for _, _, files in os.walk(tmp_path / 'test') for f in files
             if f.endswith('.png')]
    assert len(drawn) == 2


def test_infer_tool_draws_pngs(trained, shapes_data, tmp_path):
    cfg_file, work = trained
    out_dir = tmp_path / 'infer'
    proc = run([
        sys.executable, 'tools/infer.py',
        str(shapes_data / 'val'), cfg_file,
        str(work / 'epoch_2.pth'), '--out-dir',
        str(out_dir), '--score-thr', '0.0'
    ])
    assert proc.returncode == 0, proc.stderr[-3000:]
    pngs = sorted(os.listdir(out_dir))
    assert pngs == ['000001.png', '000002.png']
    import cv2
    image = cv2.imread(str(out_dir / pngs[0]))
    source = cv2.imread(str(shapes_data / 'val' / '000001.png'))
    assert image.shape == source.shape
    assert (image != source).any()  # something was drawn on it


@HOOKS.register_module()
class RecordResumeState(Hook):
    """Records what a run starts training from."""
    seen = {}

    def before_train(self, runner):
        type(self).seen.update(
            iter=runner.iter,
            epoch=runner.epoch,
            # a copy: training goes on to update the buffers in place
            optimizer=copy.deepcopy(runner.optim_wrapper.state_dict()))


def test_resume_continues_from_the_saved_iteration(trained, tmp_path):
    cfg_file, work = trained
    ckpt_file = str(work / 'epoch_1.pth')
    cfg = load_config(cfg_file, work_dir=str(tmp_path))
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='RecordResumeState')
    ]
    setup_train_config(cfg, resume=ckpt_file)
    runner = build_runner(cfg)
    runner.train()
    seen = RecordResumeState.seen
    assert (seen['iter'], seen['epoch']) == (2, 1)
    assert runner.iter == 4
    saved = torch.load(ckpt_file, map_location='cpu')['optimizer']
    assert saved['state'], 'the checkpoint holds optimizer buffers'
    resumed = seen['optimizer']
    assert saved['state'].keys() == resumed['state'].keys()
    for key, state in saved['state'].items():
        # SGD's momentum or AdamW's moments, whichever the demo uses
        for name, value in state.items():
            torch.testing.assert_close(resumed['state'][key][name], value)
    assert [g['lr'] for g in resumed['param_groups']] == [
        g['lr'] for g in saved['param_groups']
    ]


def test_two_process_gloo_training_on_cpu(trained, tmp_path):
    cfg_file, _ = trained
    env = dict(os.environ, PORT=str(free_port()), PYTHON=sys.executable)
    proc = run(
        ['bash', 'tools/dist_train.sh', cfg_file, '2', '--work-dir',
         str(tmp_path)],
        env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert re.search(r'Distributed training: True', log)
    # 4 images over 2 processes of batch 2: one iteration per epoch, where a
    # single process would take two
    assert re.search(r'Epoch\(train\) \[2\]\[1/1\]', log), log[-3000:]
    assert not re.search(r'Epoch\(train\) \[\d\]\[\d/2\]', log)
    assert (tmp_path / 'epoch_2.pth').is_file()


@pytest.mark.parametrize('tool', ['train', 'test', 'infer', 'demo'])
def test_help(tool):
    proc = run([sys.executable, f'tools/{tool}.py', '--help'])
    assert proc.returncode == 0
    assert 'usage:' in proc.stdout
    assert 'example' in proc.stdout
