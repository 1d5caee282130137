"""Train the same detector with no attention, SE and ECA, over seeds.

Every run goes through ``tools/train.py`` (a subprocess, as a user runs
it) with the config's backbone swapped and ``randomness.seed`` set; the
study then writes, in the work dir:

* ``results.json`` and ``results.md``: per variant, mean and standard
  deviation over seeds of bbox/segm AP (the last validation, on the val
  split), seconds per iteration, and the parameters and backbone + neck
  multiply-adds of the detector;
* ``curves.png``: mean +/- std of the training loss and the val AP over
  training.

Finished runs are kept (``runs/<variant>/seed<k>/result.json``) and
skipped when the study is run again, so seeds can be added later. The
default is the demo (``configs/demo/...``, on the generated shapes set);
any config with ECA (an ECA-ResNet, ECA plugins, RTMDet or YOLOX with ECA,
an ECA neck) and dataset works through ``--config`` and ``--cfg-options``.

``--transfer`` measures the ECA paper's claim in miniature
(:mod:`attention_study.transfer`): a ResNet pretrained with mmpretrain on a
generated classification task, plain, with SE and with ECA, then the
detector fine-tuned from each: plain from plain, ECA inserted as the
identity into plain, ECA from ECA-pretrained, SE from SE-pretrained; with
paired tests of the differences and ECA's channel weights per class
(``eca_weights.png``). It needs mmpretrain (``pip install
mmdet-eca[pretrain]``).
"""
import copy
import argparse
import json
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from mmengine.config import Config, DictAction

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)  # run from a checkout without installing

import mmdet_eca  # noqa: E402,F401  (registers the ECA backbones)
from attention_study import backbones  # noqa: E402,F401  (SEResNet)
from attention_study.complexity import measure  # noqa: E402
from attention_study.curves import plot_study  # noqa: E402
from attention_study.runs import (load_result, newest_scalars,  # noqa: E402
                                  read_run, run_training, save_result,
                                  train_command, write_variant_config)
from attention_study.summary import format_markdown, summarize  # noqa: E402
from attention_study.transfer import (PRETRAINED_KIND,  # noqa: E402
                                      TRANSFER_CONFIG, TRANSFER_EARLY_ITERS,
                                      TRANSFER_EPOCHS, pretrained_backbones,
                                      transfer_config, transfer_report,
                                      variant_init_cfg)
from attention_study.variants import (DEFAULT_VARIANTS,  # noqa: E402
                                      TRANSFER_VARIANTS, check_variants)
from demo_utils import (DEMO_CONFIG, DEMO_DATA, epoch_options,  # noqa: E402
                        generate_shapes_dataset, shrink_config,
                        use_shapes_data)
from mmdet_eca.engine import run_tool  # noqa: E402
from mmdet_eca.errors import ConfigError  # noqa: E402
from mmdet_eca.fileio import write_text_atomic  # noqa: E402

EXAMPLES = """examples:
  python tools/compare_attention.py --seeds 3
  python tools/compare_attention.py --seeds 2 --jobs 2   # two runs at once
  python tools/compare_attention.py --variants none se eca eca-k3 eca-k7
  python tools/compare_attention.py --config CONFIG --epochs 12 \\
      --cfg-options train_dataloader.batch_size=4
  python tools/compare_attention.py --quick   # seconds-long smoke run
  python tools/compare_attention.py --transfer --seeds 5 --jobs 2
      (backbones pretrained with mmpretrain plain, SE and ECA, the
      detector fine-tuned from each: none, eca-identity, eca, se; about
      an hour on 2 cores; --quick: minutes)
  python tools/compare_attention.py --quick \\
      --config configs/rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py
"""
QUICK = dict(num_train=8, num_val=4, image_size=64, max_objects=2,
             min_size=12, max_size=28, seed=1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config',
                        help='a detector config with ECA: an ECA-ResNet '
                        'backbone, ECA plugins in any plugin-slot backbone, '
                        'ECACSPNeXt (RTMDet: se is its stock attention), '
                        'ECACSPDarknet (YOLOX) or an ECA neck (default: the '
                        'demo on the generated shapes set; --transfer: '
                        f'{TRANSFER_CONFIG})')
    parser.add_argument('--variants', nargs='+',
                        help='none, se (RTMDet: its own channel attention; '
                        'not for YOLOX or a neck), eca, eca-identity (ECA '
                        'starting as the identity), or eca-k<digits> '
                        'with fixed kernel sizes (eca-k3, eca-k3577); '
                        f"default {' '.join(DEFAULT_VARIANTS)}, --transfer: "
                        f"{' '.join(TRANSFER_VARIANTS)}")
    parser.add_argument('--seeds', type=int,
                        help='training seeds per variant (0, 1, ...); '
                        'default 3, --transfer: 5')
    parser.add_argument('--epochs', type=int,
                        help="training epochs (default: the config's); the "
                        'epoch-based lr schedule is stretched to match')
    parser.add_argument('--val-interval', type=int,
                        help='validate every this many epochs, for the AP '
                        'curves (default: about 4 points per run)')
    parser.add_argument('--jobs', type=int, default=1,
                        help='trainings at once, each with an equal share '
                        'of the CPU cores as compute threads (on CPUs, two '
                        'one-thread runs finish sooner than two two-thread '
                        'runs one after the other)')
    parser.add_argument('--work-dir',
                        help='where runs, table and curves go (default '
                        'work_dirs/compare_attention, --transfer: '
                        'work_dirs/transfer_study)')
    parser.add_argument('--transfer', action='store_true',
                        help='the ECA paper\'s claim in miniature: pretrain '
                        'a ResNet plain, with SE and with ECA on a generated '
                        'classification task with mmpretrain, fine-tune the '
                        'detector from each (none and eca-identity from '
                        'plain, eca from ECA, se from SE)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config for every '
                        'run, key=value pairs')
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run: tiny generated data, 2 epochs, '
                        '2 seeds (for tests; its figures mean nothing)')
    parser.add_argument('--debug', action='store_true',
                        help='show the full traceback when something fails')
    args = parser.parse_args(argv)
    if args.config is None:
        args.config = TRANSFER_CONFIG if args.transfer else DEMO_CONFIG
    if args.seeds is None:
        args.seeds = 5 if args.transfer else 3
    if args.variants is None:
        args.variants = (TRANSFER_VARIANTS
                         if args.transfer else DEFAULT_VARIANTS)
    if args.work_dir is None:
        args.work_dir = ('work_dirs/transfer_study' if args.transfer else
                         'work_dirs/compare_attention')
    return args


def load_study_config(args, work_dir):
    cfg = Config.fromfile(osp.join(REPO, args.config)
                          if not osp.isabs(args.config) else args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.transfer:
        transfer_config(cfg, work_dir, args.quick, QUICK)
    elif args.quick:
        data_root = osp.join(work_dir, 'data')
        generate_shapes_dataset(data_root, **QUICK)
        use_shapes_data(cfg, data_root)
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].batch_size = 4
            cfg[key].num_workers = 0
            cfg[key].persistent_workers = False
        # image sizes, classes and score thresholds for the tiny images
        shrink_config(cfg, QUICK['image_size'])
        cfg.model.backbone.init_cfg = None  # from scratch, nothing to fetch
    elif args.config == DEMO_CONFIG:
        ann = osp.join(REPO, DEMO_DATA['root'], 'annotations',
                       'instances_val.json')
        if not osp.isfile(ann):
            print(f'generating the demo dataset in {DEMO_DATA["root"]}/')
            generate_shapes_dataset(
                osp.join(REPO, DEMO_DATA['root']),
                **{k: v for k, v in DEMO_DATA.items() if k != 'root'})
    return cfg


def compare(args) -> dict:
    variants = check_variants(args.variants)
    if args.quick:
        epochs, val_interval, seeds = 2, 1, 2
    else:
        epochs, val_interval, seeds = args.epochs, args.val_interval, \
            args.seeds
    if seeds < 1:
        raise ValueError(f'--seeds must be at least 1, got {seeds}')
    if args.jobs < 1:
        raise ValueError(f'--jobs must be at least 1, got {args.jobs}')
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    cfg = load_study_config(args, work_dir)
    if args.transfer and not epochs:
        epochs, val_interval = TRANSFER_EPOCHS, val_interval or 1
    epochs = epochs or cfg.train_cfg.max_epochs
    if val_interval is None:
        val_interval = max(1, epochs // 4)
    options = epoch_options(cfg, epochs, val_interval)
    threads = None
    if args.jobs > 1:
        threads = int(os.environ.get('OMP_NUM_THREADS') or max(
            1, (os.cpu_count() or 1) // args.jobs))
    pretrained = None
    if args.transfer:
        unknown = [v for v in variants if v not in PRETRAINED_KIND]
        if unknown:
            raise ConfigError(
                f'--transfer fine-tunes {", ".join(PRETRAINED_KIND)}, each '
                f'from its pretrained backbone; got {unknown[0]!r}')
        pretrained = pretrained_backbones(
            cfg, work_dir, REPO, args.quick,
            [PRETRAINED_KIND[v] for v in variants], args.jobs, threads)

    configs, complexity = {}, {}
    for variant in variants:
        variant_cfg = cfg
        if pretrained:
            variant_cfg = copy.deepcopy(cfg)
            variant_cfg.model.backbone.init_cfg = variant_init_cfg(
                variant, pretrained)
        configs[variant] = write_variant_config(
            variant_cfg, variant,
            osp.join(work_dir, 'configs', f'{variant}.py'), args.config)
        complexity[variant] = measure(Config.fromfile(configs[variant]))

    start = time.time()

    def run(seed, variant):
        run_dir = osp.join(work_dir, 'runs', variant, f'seed{seed}')
        result_file = osp.join(run_dir, 'result.json')
        result = load_result(result_file)
        if result is not None:
            print(f'{variant} seed {seed}: done before, kept', flush=True)
            return result
        os.makedirs(run_dir, exist_ok=True)
        command = train_command(configs[variant], run_dir, seed, options)
        print(f'[{time.time() - start:6.0f} s] {variant} seed {seed}: '
              'python ' + ' '.join(command), flush=True)
        run_training(command, REPO, osp.join(run_dir, 'train.log'), threads)
        result = read_run(newest_scalars(run_dir), variant, seed)
        save_result(result, result_file)
        return result

    # seed-major order: a slower or busier stretch of the machine hits
    # every variant alike
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run, seed, variant)
                   for seed in range(seeds) for variant in variants]
        try:
            results = [future.result() for future in futures]
        except BaseException:
            # runs under way finish (and are kept); none starts anew
            for future in futures:
                future.cancel()
            raise

    rows = summarize(results, complexity, variants)
    hw = complexity[variants[0]]['input_hw']
    notes = (f'{args.config}, {epochs} epochs, seeds 0-{seeds - 1}; AP of '
             'the last validation on the val split; mean ± sample std over '
             f'seeds; multiply-adds of backbone + neck at 1x3x{hw[0]}x'
             f'{hw[1]}; s/iter: mean training iteration time, data loading '
             'included, on this machine')
    if args.jobs > 1:
        notes += (f', {args.jobs} runs at once with {threads} compute '
                  'thread(s) each')
    if args.quick:
        notes += ' (--quick: a smoke run, its figures mean nothing)'
    title, extra = 'Attention comparison', []
    if args.transfer:
        title = 'Detectors fine-tuned from plain, SE and ECA pretraining'
        more, extra = transfer_report(results, variants, pretrained, cfg,
                                      work_dir)
        notes += more
    markdown = format_markdown(rows, title, notes, 'eca') + '\n'.join(
        extra) + ('\n' if extra else '')
    write_text_atomic(osp.join(work_dir, 'results.md'), markdown)
    summary = dict(config=args.config, epochs=epochs, seeds=seeds,
                   transfer=args.transfer, pretrained=pretrained,
                   variants=rows, runs=[r.__dict__ for r in results])
    write_text_atomic(osp.join(work_dir, 'results.json'),
                      json.dumps(summary, indent=1))
    plot_study(results, variants, osp.join(work_dir, 'curves.png'),
               early_iters=TRANSFER_EARLY_ITERS if args.transfer else None)
    print('\n' + markdown)
    print(f'written: {work_dir}/results.md, results.json, curves.png')
    return dict(rows=rows, results=results)


def main(argv=None) -> int:
    """Run the study; returns the exit status (0 on success)."""
    args = parse_args(argv)
    return run_tool(lambda: compare(args), debug=args.debug)


if __name__ == '__main__':
    sys.exit(main())
