"""Train the toy set-up of ``scale_lr_toy.py`` in several CPU processes.

Run by ``test_lr_scaling_dist.py`` as::

    python -m torch.distributed.run --nproc_per_node=2 dist_scale_lr.py \
        --out DIR [--resume-from CKPT]

It trains once from scratch and, with ``--resume-from``, once more resuming
that checkpoint. Each rank writes ``DIR/rank<R>.json`` with the lr records
of both runs and, on rank 0, their log text.
"""
import argparse
import json
import os
import os.path as osp

import mmdet_eca  # noqa: F401  (registers ScaleLRHook, allows resume)
from mmdet_eca.engine import build_runner

import scale_lr_toy as toy


def train(work_dir, **kwargs):
    runner = build_runner(
        toy.make_cfg(work_dir, launcher='pytorch', **kwargs))
    runner.train()
    records = toy.get_hook(runner, toy.LRRecorderHook).records
    log = toy.log_text(runner) if runner.rank == 0 else ''
    return dict(records=records, log=log, world_size=runner.world_size)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--resume-from', help='checkpoint to resume')
    args = parser.parse_args()
    results = dict(fresh=train(osp.join(args.out, 'fresh')))
    if args.resume_from:
        results['resume'] = train(
            osp.join(args.out, 'resume'), resume_from=args.resume_from)
    with open(osp.join(args.out, f"rank{os.environ['RANK']}.json"),
              'w') as f:
        json.dump(results, f)


if __name__ == '__main__':
    main()
