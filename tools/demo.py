"""The embedded demo (``make demo``): ECA Mask R-CNN, end to end, on a CPU.

1. generates a seeded COCO-format shapes dataset in data/demo_shapes/;
2. trains configs/demo/mask_rcnn_ecanet18_fpn_shapes_demo.py (which
   inherits the shipped configs/mask_rcnn_ecanet50_fpn_1x_coco.py) from
   scratch with tools/train.py, in two processes through
   tools/dist_train.sh on a machine with two or more cores (--procs);
3. evaluates the last checkpoint on the val split with tools/test.py (COCO
   bbox and segm AP), dumping its predictions;
4. writes into the work dir: metrics.json (AP, and where the time went),
   predictions.png (val images: ground truth left, predictions scoring at
   least --score-thr right) and training_curves.png.
"""
import argparse
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)  # run from a checkout without installing

from mmengine.config import Config  # noqa: E402

from demo_utils import (DEMO_CONFIG, DEMO_DATA, draw_results,  # noqa: E402
                        epoch_options, generate_shapes_dataset,
                        plot_training_curves, read_scalars)
from mmdet_eca.fileio import write_text_atomic  # noqa: E402

METRICS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
# what the demo is expected to reach (README, "Results")
TARGETS = {'bbox': 0.8, 'segm': 0.75}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog='example: python tools/demo.py --work-dir work_dirs/demo',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default='work_dirs/demo',
                        help='where checkpoints, logs and results go')
    parser.add_argument('--epochs', type=int, default=None,
                        help="training epochs (default: the demo config's); "
                        'the lr decay moves with them')
    parser.add_argument('--num-train', type=int,
                        default=DEMO_DATA['num_train'],
                        help='generated training images')
    parser.add_argument('--num-val', type=int, default=DEMO_DATA['num_val'],
                        help='generated validation images')
    parser.add_argument('--seed', type=int, default=DEMO_DATA['seed'],
                        help='seed of the dataset generator')
    parser.add_argument('--procs', type=int, default=default_procs(),
                        help='training processes (tools/dist_train.sh, '
                        'gloo on CPU), splitting the 8 images of a step '
                        'and the CPU cores; default: 2 on 2 or more cores')
    parser.add_argument('--score-thr', type=float, default=0.5,
                        help='draw predictions scoring at least this')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        metavar='KEY=VALUE',
                        help='passed to tools/train.py and tools/test.py, '
                        'e.g. visualizer.vis_backends.1.type=WandbVisBackend')
    return parser.parse_args(argv)


def default_procs():
    # mmcv's CPU RoIAlign and much of a step run on one thread: two
    # one-thread processes keep two cores busier than one two-thread process
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def step(i, text):
    print(f'\n[demo {i}/4] {text}', flush=True)


def run_tool(command, env=None):
    """Run ``command`` in the repository; returns its wall time."""
    print('$ ' + ' '.join(command), flush=True)
    start = time.time()
    subprocess.run(command, cwd=REPO, env=env, check=True)
    return time.time() - start


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def cfg_options_args(options):
    return ['--cfg-options'] + options if options else []


def train_command(work_dir, options, procs, batch_size):
    """tools/train.py's command line (``options``: ``key=value`` strings)
    and environment; with more than one process through
    tools/dist_train.sh, the batch split between them and each process
    given its share of the cores as compute threads."""
    if procs == 1:
        return [sys.executable, 'tools/train.py', DEMO_CONFIG, '--work-dir',
                work_dir] + cfg_options_args(options), None
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()))
    env.setdefault('OMP_NUM_THREADS',
                   str(max(1, (os.cpu_count() or 1) // procs)))
    options = [f'train_dataloader.batch_size={batch_size // procs}'] + options
    return ['bash', 'tools/dist_train.sh', DEMO_CONFIG, str(procs),
            '--work-dir', work_dir] + cfg_options_args(options), env


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
    return {
        k.split('/', 1)[1]: v
        for k, v in metrics.items() if k.startswith('coco/')
    }


def iteration_times(scalars_json):
    """Mean seconds per iteration (all, and waiting for data), leaving out
    the first logged window (start-up)."""
    records = read_scalars(scalars_json)
    timed = records[1:] or records
    mean = lambda key: sum(r[key] for r in timed) / len(timed)  # noqa: E731
    return dict(last_logged_iteration=records[-1]['step'],
                s_per_iter=mean('time'), data_s_per_iter=mean('data_time'))


def format_table(metrics):
    lines = ['| task | ' + ' | '.join(f'{m:<6}' for m in METRICS) + ' |',
             '|------|' + '--------|' * len(METRICS)]
    for task in ('bbox', 'segm'):
        values = [metrics.get(f'{task}_{m}', float('nan')) for m in METRICS]
        lines.append(f'| {task} | ' + ' | '.join(f'{v:<6.3f}'
                                                 for v in values) + ' |')
    return '\n'.join(lines)


def write_json(path, data):
    write_text_atomic(path, json.dumps(data, indent=2))


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(osp.join(REPO, DEMO_CONFIG))
    batch_size = cfg.train_dataloader.batch_size
    if args.procs < 1 or batch_size % args.procs:
        sys.exit(f'error: --procs must divide the batch of {batch_size} '
                 f'images, got {args.procs}')
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.join(REPO, DEMO_DATA['root'])
    start = time.time()
    seconds = {}

    step(1, f'generating the shapes dataset in {DEMO_DATA["root"]}/ '
         f'({args.num_train} train / {args.num_val} val images)')
    generate_shapes_dataset(
        data_root,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=DEMO_DATA['image_size'],
        seed=args.seed)
    seconds['dataset'] = time.time() - start

    step(2, f'training {DEMO_CONFIG} with tools/train.py '
         f'({args.procs} process{"es" if args.procs > 1 else ""})')
    options = list(args.cfg_options)
    if args.epochs is not None:
        options = epoch_options(cfg, args.epochs) + options
    seconds['train'] = run_tool(*train_command(
        work_dir, options, args.procs, batch_size))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    scalars = osp.join(newest(osp.join(work_dir, '2*[0-9]')), 'vis_data',
                       'scalars.json')

    step(3, f'evaluating {osp.basename(checkpoint)} with tools/test.py')
    test_dir = osp.join(work_dir, 'test')
    results_pkl = osp.join(work_dir, 'predictions.pkl')
    seconds['test'] = run_tool([
        sys.executable, 'tools/test.py', DEMO_CONFIG, checkpoint,
        '--work-dir', test_dir,
        '--out', results_pkl
    ] + cfg_options_args(options))
    metrics = read_test_metrics(test_dir)

    step(4, 'writing metrics.json, predictions.png and training_curves.png')
    drawn = draw_results(
        results_pkl,
        osp.join(data_root, 'annotations', 'instances_val.json'),
        osp.join(data_root, 'val'),
        osp.join(work_dir, 'predictions.png'),
        score_thr=args.score_thr)
    plot_training_curves(scalars, osp.join(work_dir, 'training_curves.png'))
    seconds['total'] = time.time() - start
    timing = dict(iteration_times(scalars),
                  **{f'{k}_s': round(v, 1) for k, v in seconds.items()})
    write_json(osp.join(work_dir, 'metrics.json'),
               dict(metrics, time=timing))

    print('\nCOCO metrics on the val split:')
    print(format_table(metrics))
    for task, target in TARGETS.items():
        value = metrics.get(f'{task}_mAP', float('nan'))
        verdict = 'reached' if value >= target else 'NOT reached'
        print(f'{task} AP {value:.3f} (target >= {target}): {verdict}')
    print(f'\ntime: dataset {seconds["dataset"]:.0f} s, training '
          f'{seconds["train"]:.0f} s ({timing["s_per_iter"]:.2f} s per '
          'iteration, of which '
          f'{timing["data_s_per_iter"]:.3f} s waiting for data), '
          f'evaluation {seconds["test"]:.0f} s; total {seconds["total"]:.0f} '
          's')
    print(f'predictions.png shows {drawn} predictions scoring >= '
          f'{args.score_thr} on 8 val images')
    print(f'results in {work_dir}: metrics.json, predictions.png, '
          'training_curves.png')
    return metrics


if __name__ == '__main__':
    main()
