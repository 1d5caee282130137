"""The demo recipe: its config inherits the shipped Mask R-CNN config, trains
and evaluates through tools/train.py and tools/test.py on a tiny set, draws
its picture from the evaluated predictions, and tracks runs in TensorBoard.
"""
import os
import os.path as osp
import pickle
import subprocess
import sys

import cv2
import pytest
from mmdet.registry import VISUALIZERS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmdet_eca  # noqa: F401
from demo_utils import DEMO_CONFIG, draw_results, epoch_options
from tool_modules import load_tool

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHIPPED = osp.join(REPO, 'configs/mask_rcnn_ecanet50_fpn_1x_coco.py')


def run(args):
    # one compute thread: the two cores are shared with other test runs,
    # where two threads per process wait on each other
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable] + args, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def data_options(root):
    ann = osp.join(root, 'annotations', 'instances_val.json')
    options = [f'val_evaluator.ann_file={ann}',
               f'test_evaluator.ann_file={ann}']
    for split, key in (('train', 'train_dataloader'),
                       ('val', 'val_dataloader'), ('val', 'test_dataloader')):
        options += [f'{key}.dataset.data_root={root}',
                    f'{key}.batch_size=2']
    return options


def test_demo_config_is_the_shipped_config_with_the_recipe():
    source = open(osp.join(REPO, DEMO_CONFIG)).read()
    assert "_base_ = '../mask_rcnn_ecanet50_fpn_1x_coco.py'" in source
    cfg = Config.fromfile(osp.join(REPO, DEMO_CONFIG))
    shipped = Config.fromfile(SHIPPED)
    assert cfg.model.type == shipped.model.type == 'MaskRCNN'
    assert cfg.model.backbone.type == 'ECAResNet'
    assert cfg.custom_imports == shipped.custom_imports
    for norm in (cfg.model.backbone.norm_cfg, cfg.model.neck.norm_cfg,
                 cfg.model.roi_head.mask_head.norm_cfg):
        assert norm.type == 'GN'
    assert cfg.model.roi_head.bbox_head.num_classes == 3
    # the runtime's hooks are inherited, and the lr hook's base batch is the
    # recipe's batch, so its lr is used as is
    assert cfg.custom_hooks == shipped.custom_hooks
    assert any(h.type == 'ScaleLRHook' for h in cfg.custom_hooks)
    assert cfg.auto_scale_lr.base_batch_size == \
        cfg.train_dataloader.batch_size


def test_epoch_options_move_the_decay_with_the_schedule():
    cfg = Config.fromfile(osp.join(REPO, DEMO_CONFIG))
    epochs = cfg.train_cfg.max_epochs
    decay = cfg.param_scheduler[1]
    assert decay.type == 'CosineAnnealingLR' and decay.end == epochs
    options = epoch_options(cfg, 2 * epochs)
    assert f'train_cfg.max_epochs={2 * epochs}' in options
    assert f'param_scheduler.1.end={2 * epochs}' in options
    assert f'param_scheduler.1.T_max={2 * decay.T_max}' in options
    # the warm-up counts iterations and keeps its length
    assert not any(o.startswith('param_scheduler.0') for o in options)


@pytest.fixture(scope='module')
def demo_run(shapes_data, tmp_path_factory):
    """The demo config trained for one epoch on the tiny set with
    tools/train.py, then evaluated with tools/test.py --out."""
    work = tmp_path_factory.mktemp('demo')
    options = data_options(str(shapes_data)) + [
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'default_hooks.logger.interval=1',
        # two iterations score below any threshold: keep every prediction
        'model.test_cfg.rcnn.score_thr=0.0'
    ]
    proc = run(['tools/train.py', DEMO_CONFIG, '--work-dir', str(work),
                '--cfg-options'] + options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pkl = work / 'predictions.pkl'
    proc = run(['tools/test.py', DEMO_CONFIG, str(work / 'epoch_1.pth'),
                '--work-dir', str(work / 'test'), '--out', str(pkl),
                '--cfg-options'] + options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work, pkl, proc.stdout + proc.stderr


def test_demo_config_trains_and_evaluates_through_the_tools(demo_run):
    work, pkl, log = demo_run
    assert (work / 'epoch_1.pth').is_file()
    for task in ('bbox', 'segm'):
        assert f'coco/{task}_mAP:' in log
    with open(pkl, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 2  # the two val images


def test_picture_shows_the_evaluated_predictions_above_the_threshold(
        demo_run, shapes_data, tmp_path):
    _, pkl, _ = demo_run
    with open(pkl, 'rb') as f:
        results = pickle.load(f)
    scores = [float(s) for r in results for s in r['pred_instances']['scores']]
    assert scores, 'the tiny run made no predictions to draw'
    threshold = sorted(scores)[len(scores) // 2]
    args = (str(pkl), str(shapes_data / 'annotations' / 'instances_val.json'),
            str(shapes_data / 'val'))
    out = str(tmp_path / 'predictions.png')
    drawn = draw_results(*args, out, score_thr=threshold, scale=3)
    assert drawn == sum(s >= threshold for s in scores)
    assert draw_results(*args, out, score_thr=1.01) == 0
    image = cv2.imread(out)
    # 2 val images of 96 px in one row of (ground truth | predictions)
    # pairs, each enlarged 3x below a title bar
    assert image.shape[0] == 96 * 3 + 28 + 12
    assert image.shape[1] == 2 * (2 * 96 * 3 + 6 + 12)


def _tensorboard_tags(folder):
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator
    events = [osp.join(d, f) for d, _, files in os.walk(folder)
              for f in files if f.startswith('events.out.tfevents')]
    assert events, f'no TensorBoard event file under {folder}'
    tags = set()
    for event_file in events:
        acc = EventAccumulator(event_file)
        acc.Reload()
        tags |= set(acc.Tags()['scalars'])
    return tags


def test_demo_runs_are_tracked_in_tensorboard(demo_run):
    work, _, _ = demo_run
    tags = _tensorboard_tags(work)
    assert {'loss', 'lr', 'loss_mask', 'coco/bbox_mAP',
            'coco/segm_mAP'} <= tags


def test_the_documented_option_tracks_a_shipped_config(tmp_path):
    # --cfg-options visualizer.vis_backends.0.type=TensorboardVisBackend
    cfg = Config.fromfile(SHIPPED)
    cfg.merge_from_dict(
        {'visualizer.vis_backends.0.type': 'TensorboardVisBackend'})
    init_default_scope('mmdet')
    visualizer = VISUALIZERS.build(
        dict(cfg.visualizer, save_dir=str(tmp_path),
             name='tracking_test'))
    visualizer.add_scalars({'loss': 1.5, 'coco/bbox_mAP': 0.25}, step=3)
    visualizer.close()
    assert {'loss', 'coco/bbox_mAP'} <= _tensorboard_tags(tmp_path)


def test_demo_trains_in_two_processes_with_the_batch_split(monkeypatch):
    demo = load_tool('demo')
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setattr(os, 'cpu_count', lambda: 2)
    assert demo.default_procs() == 2
    command, env = demo.train_command('/w', ['a=1'], procs=2, batch_size=8)
    assert command[:4] == ['bash', 'tools/dist_train.sh', DEMO_CONFIG, '2']
    # the 8 images of a step split in two, the user's options kept after
    assert command[4:] == ['--work-dir', '/w', '--cfg-options',
                           'train_dataloader.batch_size=4', 'a=1']
    assert env['OMP_NUM_THREADS'] == '1' and env['PYTHON'] == sys.executable
    assert 0 < int(env['PORT']) < 65536
    command, env = demo.train_command('/w', [], procs=1, batch_size=8)
    assert command == [sys.executable, 'tools/train.py', DEMO_CONFIG,
                       '--work-dir', '/w'] and env is None
    monkeypatch.setattr(os, 'cpu_count', lambda: 1)
    assert demo.default_procs() == 1


def test_demo_refuses_procs_that_do_not_divide_the_batch(tmp_path):
    proc = run(['tools/demo.py', '--procs', '3', '--work-dir',
                str(tmp_path)])
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == \
        'error: --procs must divide the batch of 8 images, got 3'
    assert not list(tmp_path.iterdir())
