"""What checking the annotations costs at COCO scale.

Writes a COCO-train-sized annotation file (118,287 images, 860,001
instances, about 430 MB; :mod:`analysis_tools.coco_scale`) in a temporary
folder, then builds MMDetection's ``CocoDataset`` on it through MMEngine's
``Runner.build_dataloader`` (what every run does) with and without
mmdet_eca's annotation checks (``SafeRunner``'s: the file's boxes and
categories, and the log line of what MMDetection leaves out), the two
interleaved in one process, and prints the times (wall-clock and this
process's CPU time, steadier on a shared machine), their ratio, and the
CPU time of the check itself inside the checked build. With
``--image-files`` it also writes the images (as signature bytes) and times
the image check that ``SafeRunner`` runs on the built dataset. ``--quick``
does the same on 2,000 images, as a smoke test.
"""
import argparse
import gc
import os
import statistics
import sys
import tempfile
import time

from mmdet.utils import register_all_modules
from mmengine.runner import Runner

from analysis_tools.coco_scale import write_coco_like
from mmdet_eca.engine import coco_capture
from mmdet_eca.engine.coco_capture import checking_coco_files, report_dropped
from mmdet_eca.engine.image_check import check_images

EXAMPLES = """examples:
  python tools/benchmark_annotations.py                 # COCO scale
  python tools/benchmark_annotations.py --image-files --repeats 3
  python tools/benchmark_annotations.py --quick
"""
# MMDetection's coco_instance.py training pipeline
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--images', type=int, default=118_287,
                        help='images in the file (default: COCO train2017)')
    parser.add_argument('--instances', type=int, default=860_001,
                        help='annotations (default: COCO train2017)')
    parser.add_argument('--repeats', type=int, default=2,
                        help='builds of each kind, interleaved (default 2)')
    parser.add_argument('--image-files', action='store_true',
                        help='also write the image files and time the '
                        'image check')
    parser.add_argument('--quick', action='store_true',
                        help='2,000 images and 14,000 annotations, one '
                        'repeat: a smoke test')
    parser.add_argument('--tmpdir', help='where to write the data '
                        '(default: the system temporary folder)')
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.instances, args.repeats = 2000, 14_000, 1
    return args


def loader_config(root: str) -> dict:
    """A training dataloader as MMDetection's coco_instance.py has it."""
    return dict(
        batch_size=2, num_workers=0, persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=dict(type='AspectRatioBatchSampler'),
        dataset=dict(
            type='CocoDataset', data_root=root,
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img='train/'),
            metainfo=dict(classes=[f'class_{c}' for c in range(1, 81)]),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=PIPELINE))


def build_plain(root: str):
    return Runner.build_dataloader(loader_config(root))


def build_checked(root: str):
    with checking_coco_files() as summaries:
        loader = Runner.build_dataloader(loader_config(root))
    report_dropped(loader.dataset, summaries)
    return loader


class CheckClock:
    """Times the file check itself inside a build: wraps the function
    :mod:`mmdet_eca.engine.coco_capture` calls (looked up at call time)."""

    def __init__(self) -> None:
        self.seconds = []
        self.check = coco_capture.summarize_coco

    def __call__(self, *args):
        start = time.process_time()
        try:
            return self.check(*args)
        finally:
            self.seconds.append(time.process_time() - start)


def timed(fn, *args):
    """``(wall seconds, CPU seconds, result)`` of ``fn(*args)``."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run(args) -> dict:
    """Write the data, time the builds; returns the median seconds."""
    register_all_modules(init_default_scope=True)
    with tempfile.TemporaryDirectory(dir=args.tmpdir) as root:
        os.makedirs(os.path.join(root, 'annotations'))
        start = time.perf_counter()
        written = write_coco_like(
            os.path.join(root, 'annotations', 'instances_train.json'),
            args.images, args.instances,
            empty_images=min(1021, args.images // 100),
            image_folder=os.path.join(root, 'train')
            if args.image_files else None)
        print(f"wrote {written['images']:,} images, "
              f"{written['instances']:,} annotations, "
              f"{written['bytes'] / 2**20:.0f} MiB in "
              f'{time.perf_counter() - start:.1f} s')
        times = {k: [] for k in ('plain', 'checked', 'images')}
        clock = CheckClock()
        coco_capture.summarize_coco = clock
        try:
            for repeat in range(args.repeats):
                # alternate which goes first
                order = ['plain', 'checked'][::1 if repeat % 2 == 0 else -1]
                for kind in order:
                    *seconds, loader = timed(
                        build_plain if kind == 'plain' else build_checked,
                        root)
                    times[kind].append(seconds)
                    if kind == 'checked' and args.image_files:
                        times['images'].append(
                            timed(check_images, loader.dataset)[:2])
                    del loader
        finally:
            coco_capture.summarize_coco = clock.check
    medians = {
        kind: [statistics.median(run[i] for run in runs) for i in (0, 1)]
        for kind, runs in times.items() if runs
    }
    for kind, label in (('plain', 'MMEngine dataset build'),
                        ('checked', 'with the annotation checks'),
                        ('images', 'image check')):
        if kind in medians:
            wall, cpu = medians[kind]
            cpus = [run[1] for run in times[kind]]
            print(f'{label}: {wall:.2f} s wall, {cpu:.2f} s CPU (median of '
                  f'{len(cpus)}; CPU {min(cpus):.2f}-{max(cpus):.2f} s)')
    for i, clock_name in enumerate(('wall', 'CPU')):
        plain, checked = medians['plain'][i], medians['checked'][i]
        print(f'ratio ({clock_name}): {checked / plain:.3f} '
              f'({checked - plain:+.2f} s)')
    check = statistics.median(clock.seconds)
    print(f'the file check itself: {check:.2f} s CPU per build '
          f'({min(clock.seconds):.2f}-{max(clock.seconds):.2f} s), '
          f"{check / medians['plain'][1]:.1%} of the plain build's CPU time")
    return dict(medians, check=check)


def main(argv=None) -> int:
    run(parse_args(argv))
    return 0


if __name__ == '__main__':
    sys.exit(main())
