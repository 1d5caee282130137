"""Speed and memory of ECA against no attention and SE, family by family.

A thin command line over :mod:`analysis_tools`: it builds MMDetection's
ResNet, this package's ECAResNet and an SE-ResNet of the same depth with
shared weights (with ``--efficientnet``: an EfficientNet without attention,
MMDetection's EfficientNet with SE and this package's ECAEfficientNet of
one arch), checks that their outputs have the same shapes, times them
with the runs interleaved in one process, measures each one's peak memory
and its page faults, and prints a table of medians, minimums and ratios to
ResNet per thread count. ``--eca-plugin`` adds MMDetection's ResNet with
the ECA plugin (ECAResNet's model and weights, as every plugin-slot
backbone computes it). Timings are wall-clock by default (``--clock``
picks CPU or user-mode CPU time); ``--control`` adds an identical ResNet
whose ratios show the machine's noise, and ``--retain-freed-memory`` takes
the kernel's page zeroing out of CPU runs. Check that two runs agree
before trusting a difference.

``--family`` (``all``, or any of ``resnet``, ``resnet-plugin``,
``mobilenetv2``, ``efficientnet-b0``/``-b3``, ``neck``, ``rtmdet``,
``yolox``) runs each family's model without attention, its ECA form and
its SE form (:mod:`analysis_tools.families`) at the family's config size,
for every ``--mode`` and ``--batch`` given, and ends with a summary against
the target of ECA at most a third of SE's overhead and within 1% of the
memory (:mod:`analysis_tools.summary`).
"""
import argparse
import itertools
import os
import platform
import sys

import torch

from analysis_tools import (BenchmarkSettings, format_table,
                            parse_resolution, retain_freed_memory,
                            run_comparison)
from analysis_tools.families import FAMILIES
from analysis_tools.summary import format_summary, summary_row

EXAMPLES = """examples:
  python tools/benchmark.py --family all --mode eval train --batch 1 8 \\
      --threads 2 --control --retain-freed-memory
  python tools/benchmark.py --family mobilenetv2 neck --batch 1 --repeats 10
  python tools/benchmark.py --threads 1 2 --repeats 30
  python tools/benchmark.py --batch 1 --resolution 800x1216 --threads 1 2
  python tools/benchmark.py --mode train --repeats 10
  python tools/benchmark.py --threads 1 --clock cpu --control  # busy machine
  python tools/benchmark.py --threads 1 --clock user --control --repeats 30
  python tools/benchmark.py --threads 1 2 --retain-freed-memory --repeats 60
  python tools/benchmark.py --mode train --no-norm-eval --channels-last
  python tools/benchmark.py --mode train --eca-plugin --threads 1
  python tools/benchmark.py --device cuda --batch 8 --repeats 100
  python tools/benchmark.py --efficientnet b0 --resolution 224 --threads 1
"""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--depth',
        type=int,
        default=50,
        choices=[18, 34, 50, 101, 152],
        help='ResNet depth of all three backbones (default 50)')
    parser.add_argument(
        '--efficientnet',
        metavar='ARCH',
        choices=['b0', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8', 'es',
                 'em', 'el'],
        help='compare EfficientNets of this arch instead of the ResNets: '
        "without attention, MMDetection's (SE) and ECAEfficientNet, all "
        'layers built and layers 3-6 returned')
    parser.add_argument(
        '--family',
        nargs='+',
        choices=list(FAMILIES) + ['all'],
        help='compare none / ECA / SE on these families instead (all: '
        f'{", ".join(FAMILIES)}), each at its config\'s size unless '
        '--resolution is given, and print a summary against the target')
    parser.add_argument(
        '--markdown',
        metavar='FILE',
        help='with --family, also write the summary table to FILE')
    parser.add_argument(
        '--batch',
        type=int,
        nargs='+',
        default=[2],
        help='images per batch; several values each get a table '
        '(default 2)')
    parser.add_argument(
        '--resolution',
        type=parse_resolution,
        default=None,
        help="input height x width (default 512x512; a family's config "
        'size with --family)')
    parser.add_argument(
        '--mode',
        nargs='+',
        choices=['eval', 'train'],
        default=['eval'],
        help='eval: a forward without gradients in eval mode; train: '
        'forward and backward in train mode; several values each get a '
        'table (default eval)')
    parser.add_argument(
        '--no-norm-eval',
        action='store_true',
        help='in train mode, train BatchNorm with batch statistics instead '
        "of MMDetection's default frozen statistics (norm_eval=True)")
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='run models and input in the channels-last memory format')
    parser.add_argument(
        '--eca-plugin',
        action='store_true',
        help="also run MMDetection's ResNet with the ECA plugin after every "
        "block's conv3: ECAResNet's model and weights, computed the paper's "
        'way, as every plugin-slot backbone computes it (depth 50-152)')
    parser.add_argument(
        '--threads',
        type=int,
        nargs='+',
        default=None,
        help='torch.set_num_threads value(s); each gets its own table '
        "(default: PyTorch's setting)")
    parser.add_argument(
        '--repeats',
        type=int,
        default=20,
        help='timed runs of each model, interleaved (default 20)')
    parser.add_argument(
        '--warmup',
        type=int,
        default=2,
        help='untimed runs of each model before timing (default 2)')
    parser.add_argument(
        '--device',
        default='cpu',
        choices=['cpu', 'cuda'],
        help='where to run (default cpu)')
    parser.add_argument(
        '--clock',
        choices=['wall', 'cpu', 'user'],
        default='wall',
        help='wall: elapsed time; cpu: CPU time of this process, which '
        'leaves out waits for cores other processes hold (steadier on a '
        'shared machine with --threads 1); user: its user-mode CPU time, '
        'which also leaves out the kernel zeroing pages for new tensors, '
        'the noisiest part of a CPU run (with --threads 1, and when the '
        "models' page-fault counts agree) (default wall)")
    parser.add_argument(
        '--control',
        action='store_true',
        help='also time an identical copy of the ResNet: how far its ratio '
        'is from 1 is how far apart two identical models measure')
    parser.add_argument(
        '--retain-freed-memory',
        action='store_true',
        help="make glibc's malloc keep freed memory for reuse, as caching "
        'allocators do, instead of returning it to the kernel: new tensors '
        'then reuse pages instead of faulting in fresh ones, whose zeroing '
        'by the kernel is a large and noisy part of a CPU run; memory stays '
        'at its high-water mark (CPU, glibc only)')
    parser.add_argument(
        '--no-memory',
        action='store_true',
        help='skip the peak-memory runs')
    args = parser.parse_args(argv)
    if args.family and (args.efficientnet or args.eca_plugin):
        parser.error('--family replaces --efficientnet and --eca-plugin: '
                     'use --family efficientnet-b0 or resnet-plugin')
    if args.markdown and not args.family:
        parser.error('--markdown writes the --family summary: give '
                     '--family too')
    if args.family and 'all' in args.family:
        args.family = list(FAMILIES)
    if args.eca_plugin and (args.efficientnet or args.depth < 50):
        parser.error('--eca-plugin needs a Bottleneck ResNet (--depth 50, '
                     "101 or 152): mmdet's BasicBlock takes no plugins")
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: CUDA is not available to this PyTorch '
                     f'({torch.__version__})')
    return args


def cpu_name():
    """The CPU's model name, as lscpu prints it."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def load_average():
    try:
        return ' '.join(f'{v:.2f}' for v in os.getloadavg())
    except OSError:
        return 'unknown'


def main(argv=None):
    args = parse_args(argv)
    if args.retain_freed_memory:
        # Up front, so that a C library without mallopt is one line of
        # error rather than a traceback from inside the first run.
        try:
            retain_freed_memory()
        except RuntimeError as error:
            sys.exit(f'error: --retain-freed-memory: {error}')
    device = (torch.cuda.get_device_name() if args.device == 'cuda' else
              f'{cpu_name()}, {os.cpu_count()} logical cores')
    print(f'torch {torch.__version__}; {device}')
    rows = []
    for family, mode, batch, threads in itertools.product(
            args.family or [None], args.mode, args.batch,
            args.threads or [None]):
        resolution = args.resolution or (FAMILIES[family].resolution
                                         if family else (512, 512))
        settings = BenchmarkSettings(
            family=family,
            depth=args.depth,
            efficientnet=args.efficientnet,
            eca_plugin=args.eca_plugin,
            batch=batch,
            resolution=resolution,
            mode=mode,
            norm_eval=not args.no_norm_eval,
            channels_last=args.channels_last,
            threads=threads,
            repeats=args.repeats,
            warmup=args.warmup,
            device=args.device,
            memory=not args.no_memory,
            clock=args.clock,
            control=args.control,
            retain_freed_memory=args.retain_freed_memory)
        before = load_average()
        result = run_comparison(settings)
        print(f'load average (1, 5, 15 min) before {before}, '
              f'after {load_average()}')
        print(format_table(result))
        print(flush=True)
        if family:
            rows.append(summary_row(result))
    if rows:
        summary = format_summary(rows)
        print('summary\n\n' + summary)
        if args.markdown:
            write_text(args.markdown, summary + '\n')


def write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename,
    so that an interrupted run leaves no half-written file."""
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == '__main__':
    main()
