"""ECA-ResNet-50 and SE-ResNet-50 against ResNet-50 on a GPU, in one run.

Prints (and with ``--out`` writes) one Markdown table with a row per
setting: inference, a training step with BatchNorm frozen (``norm_eval``,
as detectors train) and a training step with batch statistics; fp32 and
AMP (autocast float16); batch 1 and 16 at 800x1216 and batch 32 at 224x224;
then one full Mask R-CNN training step at 1333x800 (forward, losses,
backward, SGD step) for each backbone. Each row times the three models
interleaved in the same process (see ``analysis_tools.timing``), so the
ratios compare runs made side by side. A fourth model, the same
ECA-ResNet computing the paper's formulation (``fused_eca(False)``), shows
what the fused computation gains or loses on the device. Peak memory is
``torch.cuda.max_memory_allocated`` over one step. The issue's target: ECA
within 2% of ResNet-50 wherever SE costs 10% or more.

``--quick`` runs the same code on tiny models and inputs, on CPU if no GPU
is present: a smoke test, not a measurement.
"""
import argparse
import contextlib
import copy
import os.path as osp
import platform
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch

from analysis_tools import (build_comparison, peak_memory, summarize,
                            time_interleaved)
from mmdet_eca.layers.execution_mode import fused_eca

EXAMPLES = """examples:
  python tools/benchmark_cuda.py --out docs/cuda_benchmark.md
  python tools/benchmark_cuda.py --repeats 50 --channels-last
  python tools/benchmark_cuda.py --quick --device cpu   # smoke test
"""

# (mode, batch, height, width); mode: eval, frozen (train, norm_eval) or
# train (batch statistics)
BACKBONE_ROWS = [(mode, batch, h, w) for mode in ('eval', 'frozen', 'train')
                 for batch, h, w in ((1, 800, 1216), (16, 800, 1216),
                                     (32, 224, 224))]
MODE_NAMES = {
    'eval': 'inference',
    'frozen': 'train step, norm_eval',
    'train': 'train step, batch stats',
}


@dataclass
class Row:
    """One table row: ``times`` and ``peaks`` per model name."""
    what: str
    precision: str
    batch: int
    size: Tuple[int, int]
    stats: Optional[Dict[str, Dict[str, float]]] = None
    peaks: Optional[Dict[str, int]] = None
    error: str = ''


def _autocast(device: torch.device, amp: bool):
    if not amp:
        return contextlib.nullcontext()
    dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype)


def backbone_step(model: torch.nn.Module, x: torch.Tensor, mode: str,
                  amp: bool) -> Callable[[], None]:
    """One inference forward or training step of a backbone.

    Args:
        model (nn.Module): The backbone, in the wanted train/eval state.
        x (Tensor): Input batch.
        mode (str): ``'eval'``, ``'frozen'`` or ``'train'``.
        amp (bool): Run under autocast.
    """

    def step():
        if mode == 'eval':
            with torch.no_grad(), _autocast(x.device, amp):
                model(x)
            return
        with _autocast(x.device, amp):
            outs = model(x)
            loss = sum(o.float().mean() for o in outs)
        loss.backward()
        model.zero_grad(set_to_none=True)

    return step


def with_comparisons(models: Dict[str, torch.nn.Module],
                     depth: int) -> Dict[str, torch.nn.Module]:
    """``models`` plus a copy of the ECA-ResNet run in the paper's form."""
    models[f'ECAResNet-{depth} (paper form)'] = copy.deepcopy(
        models[f'ECAResNet-{depth}'])
    return models


def paper_form(step: Callable[[], None]) -> Callable[[], None]:
    """``step`` with the fused ECA computation switched off."""

    def run():
        with fused_eca(False):
            step()

    return run


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, torch.OutOfMemoryError) or 'out of memory' in str(
        err)


def _measure(steps: Dict[str, Callable[[], None]], device: torch.device,
             repeats: int, warmup: int) -> Tuple[Dict, Dict]:
    sync = torch.cuda.synchronize if device.type == 'cuda' else None
    times = time_interleaved(steps, repeats, warmup, sync)
    stats = summarize(times, next(iter(steps)))
    peaks = {name: peak_memory(step, device) for name, step in steps.items()}
    return stats, peaks


def run_backbone_rows(args, device: torch.device,
                      log: Callable[[str], None]) -> List[Row]:
    rows = []
    kwargs = dict(base_channels=args.base_channels)
    for amp in args.amp:
        precision = 'AMP' if amp else 'fp32'
        for mode, batch, h, w in args.backbone_rows:
            row = Row(MODE_NAMES[mode], precision, batch, (h, w))
            log(f'{row.what}, {precision}, {batch}x3x{h}x{w}')
            models = with_comparisons(build_comparison(
                args.depth, norm_eval=mode != 'train', **kwargs), args.depth)
            try:
                steps = {}
                x = torch.randn(batch, 3, h, w, device=device)
                if args.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                for name, model in models.items():
                    model.to(device)
                    if args.channels_last:
                        model.to(memory_format=torch.channels_last)
                    model.train(mode != 'eval')
                    steps[name] = backbone_step(model, x, mode, amp)
                    if name.endswith('(paper form)'):
                        steps[name] = paper_form(steps[name])
                row.stats, row.peaks = _measure(steps, device, args.repeats,
                                                args.warmup)
            except RuntimeError as err:
                if not _is_oom(err):
                    raise
                row.error = 'out of memory'
            finally:
                del models
                steps = x = None
                if device.type == 'cuda':
                    torch.cuda.empty_cache()
            rows.append(row)
    return rows


def _detector_inputs(batch: int, h: int, w: int, num_classes: int,
                     device: torch.device, seed: int = 0):
    """A synthetic batch with boxes and masks, as a data loader gives it."""
    import numpy as np
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    rng = np.random.RandomState(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.from_numpy(rng.randint(0, 255, (3, h, w), np.uint8)))
        n = 8
        x1y1 = rng.uniform(0, 0.6, (n, 2)) * (w, h)
        wh = rng.uniform(0.1, 0.4, (n, 2)) * (w, h)
        boxes = np.concatenate([x1y1, np.minimum(x1y1 + wh, (w, h))], 1)
        masks = np.zeros((n, h, w), np.uint8)
        for i, (x1, y1, x2, y2) in enumerate(boxes.astype(int)):
            masks[i, y1:y2, x1:x2] = 1
        sample = DetDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
            scale_factor=(1.0, 1.0), batch_input_shape=(h, w)))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            labels=torch.from_numpy(rng.randint(0, num_classes, n)),
            masks=BitmapMasks(masks, h, w))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def build_mask_rcnn(backbone: torch.nn.Module, quick: bool,
                    base_channels: int) -> torch.nn.Module:
    """MMDetection's Mask R-CNN R-50 FPN with ``backbone`` swapped in."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(
        osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', '_base_',
                 'models', 'mask-rcnn_r50_fpn.py')).model
    cfg.backbone.init_cfg = None
    cfg.neck.in_channels = [base_channels * 4 * 2**i for i in range(4)]
    if quick:  # few RoIs, so that a CPU smoke test takes seconds
        cfg.train_cfg.rpn_proposal.nms_pre = 200
        cfg.train_cfg.rpn_proposal.max_per_img = 50
        cfg.train_cfg.rcnn.sampler.num = 16
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.backbone = backbone
    return model


def run_mask_rcnn_rows(args, device: torch.device,
                       log: Callable[[str], None]) -> List[Row]:
    h, w = args.detector_size
    batch = args.detector_batch
    rows = []
    for amp in args.amp:
        precision = 'AMP' if amp else 'fp32'
        row = Row('Mask R-CNN train step', precision, batch, (h, w))
        log(f'{row.what}, {precision}, {batch}x3x{h}x{w}')
        if amp and device.type != 'cuda':
            # mmcv's CPU ops (NMS, RoIAlign) take float32 only
            row.error = 'AMP on CUDA only'
            rows.append(row)
            continue
        backbones = with_comparisons(build_comparison(
            args.depth, norm_eval=True, frozen_stages=1,
            base_channels=args.base_channels), args.depth)
        detectors, steps = {}, {}
        try:
            heads = None
            for name, backbone in backbones.items():
                det = build_mask_rcnn(backbone, args.quick,
                                      args.base_channels)
                if heads is None:  # same heads for all three
                    heads = {k: v for k, v in det.state_dict().items()
                             if not k.startswith('backbone.')}
                det.load_state_dict(heads, strict=False)
                det.to(device).train()
                if args.channels_last:
                    det.to(memory_format=torch.channels_last)
                detectors[name] = det
                data = det.data_preprocessor(
                    _detector_inputs(batch, h, w, 80, device), True)
                # lr 0: every timed step sees the same weights, so the
                # same proposals and the same work
                optim = torch.optim.SGD(
                    det.parameters(), lr=0.0, momentum=0.9,
                    weight_decay=1e-4)
                steps[name] = _detector_step(det, data, optim, amp, device)
                if name.endswith('(paper form)'):
                    steps[name] = paper_form(steps[name])
            row.stats, row.peaks = _measure(steps, device,
                                            args.detector_repeats,
                                            args.warmup)
        except RuntimeError as err:
            if not _is_oom(err):
                raise
            row.error = 'out of memory'
        finally:
            detectors = steps = None
            if device.type == 'cuda':
                torch.cuda.empty_cache()
        rows.append(row)
    return rows


def _detector_step(det, data, optim, amp, device):

    def step():
        with _autocast(device, amp):
            losses = det(**data, mode='loss')
            loss, _ = det.parse_losses(losses)
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)

    return step


def format_rows(rows: List[Row], depth: int) -> str:
    """The Markdown table of all rows."""
    eca, se, base = f'ECAResNet-{depth}', f'SEResNet-{depth}', \
        f'ResNet-{depth}'
    paper = f'{eca} (paper form)'
    lines = [
        f'| setting | precision | input | {base} (ms) | ECA / R{depth} '
        f'| SE / R{depth} | {base} peak (MiB) | ECA mem / R{depth} '
        f'| SE mem / R{depth} | target | ECA paper form / R{depth} |',
        '|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|',
    ]
    for r in rows:
        head = (f'| {r.what} | {r.precision} | {r.batch}x{r.size[0]}x'
                f'{r.size[1]} ')
        if r.error:
            lines.append(head + f'| {r.error} |' + ' |' * 7)
            continue
        t_eca = r.stats[eca]['median_ratio']
        t_se = r.stats[se]['median_ratio']
        target = ('met' if t_eca <= 1.02 else 'MISSED') if t_se >= 1.10 \
            else '-'
        lines.append(
            head + f'| {r.stats[base]["median"] * 1e3:.1f} '
            f'| {t_eca:.3f} | {t_se:.3f} '
            f'| {r.peaks[base] / 2**20:.0f} '
            f'| {r.peaks[eca] / max(1, r.peaks[base]):.3f} '
            f'| {r.peaks[se] / max(1, r.peaks[base]):.3f} | {target} '
            f'| {r.stats[paper]["median_ratio"]:.3f} |')
    lines += [
        '',
        'ratios: median time (peak memory) of the model over ResNet\'s, the '
        'three timed interleaved in one process; target: ECA within 2% of '
        'ResNet where SE costs 10% or more; paper form: the same ECA-ResNet '
        "computing the paper's formulation (fused computation off)",
    ]
    return '\n'.join(lines)


def environment(device: torch.device) -> str:
    name = (torch.cuda.get_device_name(device) if device.type == 'cuda'
            else platform.processor() or platform.machine())
    return (f'{name}; torch {torch.__version__}, CUDA '
            f'{torch.version.cuda or "-"}, cudnn.benchmark '
            f'{torch.backends.cudnn.benchmark}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--device', default='cuda', help='cuda (default) or cpu')
    parser.add_argument(
        '--repeats', type=int, default=20,
        help='timed steps of each backbone per row (default 20)')
    parser.add_argument(
        '--detector-repeats', type=int, default=10,
        help='timed Mask R-CNN steps per backbone (default 10)')
    parser.add_argument(
        '--warmup', type=int, default=3,
        help='untimed steps of each model first (default 3)')
    parser.add_argument(
        '--channels-last', action='store_true',
        help='models and inputs in the channels-last memory format')
    parser.add_argument(
        '--modes', nargs='+', choices=list(MODE_NAMES),
        default=list(MODE_NAMES),
        help='backbone rows to run: eval (inference), frozen (training '
        'step with norm_eval) and/or train (batch statistics); default all')
    parser.add_argument(
        '--precisions', nargs='+', choices=['fp32', 'amp'],
        default=['fp32', 'amp'], help='default both')
    parser.add_argument(
        '--no-detector', dest='detector', action='store_false',
        help='skip the Mask R-CNN rows')
    parser.add_argument(
        '--quick', action='store_true',
        help='tiny models and inputs, 1 repeat: a smoke test of the script')
    parser.add_argument('--out', help='also write the table to this file')
    args = parser.parse_args(argv)
    args.depth, args.base_channels = 50, 64
    args.amp = [p == 'amp' for p in ('fp32', 'amp') if p in args.precisions]
    args.backbone_rows = [r for r in BACKBONE_ROWS if r[0] in args.modes]
    args.detector_size, args.detector_batch = (800, 1333), 2
    if args.quick:
        args.base_channels = 8
        args.backbone_rows = [(mode, 1, 32, 32) for mode in args.modes]
        args.detector_size, args.detector_batch = (64, 64), 1
        args.repeats = args.detector_repeats = 1
        args.warmup = 1
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('error: --device cuda: no CUDA device here (use --quick '
              '--device cpu for a smoke test)', file=sys.stderr)
        return 1
    torch.backends.cudnn.benchmark = True
    start = time.perf_counter()

    def log(msg):
        print(f'[{time.perf_counter() - start:5.0f} s] {msg}',
              file=sys.stderr, flush=True)

    rows = run_backbone_rows(args, device, log)
    if args.detector:
        rows += run_mask_rcnn_rows(args, device, log)
    layout = 'channels_last' if args.channels_last else 'NCHW'
    text = '\n'.join([
        f'{environment(device)}; {layout}; {args.repeats} interleaved '
        f'repeats ({args.detector_repeats} for Mask R-CNN, batch '
        f'{args.detector_batch}); AMP: autocast '
        f'{"float16" if device.type == "cuda" else "bfloat16"}',
        '', format_rows(rows, args.depth), '',
        f'(run took {time.perf_counter() - start:.0f} s)'
    ])
    print(text)
    if args.out:
        from mmdet_eca.fileio import write_text_atomic
        write_text_atomic(args.out, text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
