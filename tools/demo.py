"""The embedded demo (``make demo``): ECA Mask R-CNN, end to end, on a CPU.

1. generates a seeded COCO-format shapes dataset in data/demo_shapes/;
2. trains configs/demo/mask_rcnn_ecanet18_fpn_shapes_demo.py (which
   inherits the shipped configs/mask_rcnn_ecanet50_fpn_1x_coco.py) with
   tools/train.py;
3. evaluates the last checkpoint with tools/test.py (COCO bbox and segm AP);
4. writes metrics.json, predictions.png (ground truth left, predictions
   right, on val images) and training_curves.png into the work dir.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)  # run from a checkout without installing

from demo_utils import (generate_shapes_dataset,  # noqa: E402
                        plot_training_curves, save_image_grid)

CONFIG = 'configs/demo/mask_rcnn_ecanet18_fpn_shapes_demo.py'
DATA_ROOT = 'data/demo_shapes'
METRICS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
# what the demo is expected to reach (README, "Results")
TARGETS = {'bbox': 0.5, 'segm': 0.4}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog='example: python tools/demo.py --work-dir work_dirs/demo',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='where checkpoints, logs and results go')
    parser.add_argument('--epochs', type=int, default=None,
                        help="training epochs (default: the demo config's)")
    parser.add_argument('--num-train', type=int, default=400,
                        help='generated training images')
    parser.add_argument('--num-val', type=int, default=80,
                        help='generated validation images')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the dataset generator')
    return parser.parse_args(argv)


def step(i, text):
    print(f'\n[demo {i}/4] {text}', flush=True)


def run_tool(args):
    cmd = [sys.executable] + args
    print('$ ' + ' '.join(args), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True)


def newest(pattern):
    found = sorted(glob.glob(pattern))
    if not found:
        raise FileNotFoundError(f'nothing matches {pattern}')
    return found[-1]


def read_test_metrics(test_dir):
    """The metrics MMEngine's LoggerHook wrote for the latest test run."""
    run_dir = newest(osp.join(test_dir, '2*[0-9]'))
    with open(osp.join(run_dir, osp.basename(run_dir) + '.json')) as f:
        metrics = json.load(f)
    return run_dir, {
        k.split('/', 1)[1]: v
        for k, v in metrics.items() if k.startswith('coco/')
    }


def format_table(metrics):
    lines = ['| task | ' + ' | '.join(f'{m:<6}' for m in METRICS) + ' |',
             '|------|' + '--------|' * len(METRICS)]
    for task in ('bbox', 'segm'):
        values = [metrics.get(f'{task}_{m}', float('nan')) for m in METRICS]
        lines.append(f'| {task} | ' + ' | '.join(f'{v:<6.3f}'
                                                 for v in values) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    start = time.time()

    step(1, f'generating the shapes dataset in {DATA_ROOT}/ '
         f'({args.num_train} train / {args.num_val} val images)')
    generate_shapes_dataset(
        osp.join(REPO, DATA_ROOT),
        num_train=args.num_train,
        num_val=args.num_val,
        seed=args.seed)

    step(2, f'training {CONFIG} with tools/train.py')
    train_args = ['tools/train.py', CONFIG, '--work-dir', work_dir]
    if args.epochs is not None:
        train_args += [
            '--cfg-options', f'train_cfg.max_epochs={args.epochs}',
            f'train_cfg.val_interval={args.epochs}',
            f'default_hooks.checkpoint.interval={args.epochs}'
        ]
    run_tool(train_args)
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    train_log = newest(osp.join(work_dir, '2*[0-9]'))

    step(3, f'evaluating {osp.basename(checkpoint)} with tools/test.py')
    test_dir = osp.join(work_dir, 'test')
    run_tool([
        'tools/test.py', CONFIG, checkpoint, '--work-dir', test_dir,
        '--show-dir', 'vis'
    ])
    run_dir, metrics = read_test_metrics(test_dir)

    step(4, 'writing metrics.json, predictions.png and training_curves.png')
    metrics_file = osp.join(work_dir, 'metrics.json')
    with open(metrics_file + '.tmp', 'w') as f:
        json.dump(metrics, f, indent=2)
    os.replace(metrics_file + '.tmp', metrics_file)
    vis = sorted(glob.glob(osp.join(run_dir, 'vis', '*.png')))[:8]
    save_image_grid(vis, osp.join(work_dir, 'predictions.png'), columns=2)
    plot_training_curves(
        osp.join(train_log, 'vis_data', 'scalars.json'),
        osp.join(work_dir, 'training_curves.png'))

    print('\nCOCO metrics on the val split:')
    print(format_table(metrics))
    for task, target in TARGETS.items():
        value = metrics.get(f'{task}_mAP', float('nan'))
        verdict = 'reached' if value >= target else 'NOT reached'
        print(f'{task} AP {value:.3f} (target >= {target}): {verdict}')
    print(f'\nresults in {work_dir}: metrics.json, predictions.png, '
          f'training_curves.png; total time {time.time() - start:.0f} s')
    return metrics


if __name__ == '__main__':
    main()
