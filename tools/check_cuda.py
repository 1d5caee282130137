"""Check every ECA form on a GPU, train ECA Mask R-CNN under AMP, time it.

The one script to run when a GPU is at hand (about 3 minutes on one):

1. **Forms.** Every family ECA ships in (ECAResNet-18/50, the plugin as
   built and fused, ECAMobileNetV2, ECAEfficientNet, ECACSPNeXt,
   ECACSPDarknet, ECAFPN), in float32 and under autocast float16 and
   bfloat16, contiguous and channels-last, in eval, frozen-BN training
   (``norm_eval=True``) and batch-statistics training: outputs and every
   gradient of the package's forms against the same model computing the
   paper's ``x * gate`` (``analysis_tools.paper_eca``). A check passes
   when the forms are no further from the paper's formulation than twice
   the paper's own distance from float64 (or a floor for float32).
2. **Mask R-CNN.** A few training iterations of ECA Mask R-CNN (the
   ``configs/mask_rcnn_ecanet50_fpn_1x_coco.py`` detector) under AMP on
   generated data: every loss finite, a gradient for every trainable ECA
   weight.
3. **Timing.** ``tools/benchmark.py``'s none / ECA / SE comparison for
   every family at batch 1, inference and a training step, as a table.

It ends with one verdict line and exits non-zero on any failure.
``--quick`` runs the same code on tiny models (on the CPU without a GPU):
the test suite's self-test, not a measurement.
"""
import argparse
import contextlib
import math
import os.path as osp
import sys
import time
from typing import List

import torch

from analysis_tools.compare import BenchmarkSettings, run_comparison
from analysis_tools.families import FAMILIES as TIMED_FAMILIES
from analysis_tools.forms import (FAMILIES, MODES, family_input, form_errors,
                                  randomise, set_mode)
from analysis_tools.summary import format_summary, summary_row
from mmdet_eca.compat import cpu_autocast_supported

EXAMPLES = """examples:
  python tools/check_cuda.py                  # on a GPU: the whole check
  python tools/check_cuda.py --skip-timing    # forms and Mask R-CNN only
  python tools/check_cuda.py --quick --device cpu   # the self-test
"""
PRECISIONS = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}
# the forms' own floor in float32, where both sides round alike
FLOOR = {None: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}


def check_forms(args, device, log) -> List[str]:
    """Every family x precision x layout x mode; the failures."""
    width, size = (1 / 32, 33) if args.quick else (0.5, 96)
    failures, count = [], 0
    for family in args.families:
        for precision, dtype in PRECISIONS.items():
            if dtype is not None and not cpu_autocast_supported(dtype, device):
                log(f'  {family} {precision}: skipped (no autocast to '
                    f'{dtype} on {device.type} in this torch)')
                continue
            for layout in ('contiguous', 'channels_last'):
                for mode in MODES:
                    model = set_mode(randomise(FAMILIES[family](width)),
                                     mode).to(device)
                    x = family_input(family, 2, size, device=device)
                    if layout == 'channels_last':
                        model.to(memory_format=torch.channels_last)
                        x = channels_last(x)
                    errors = form_errors(model, x, dtype)
                    count += 1
                    bad = [what for what in ('outputs', 'grads')
                           if not errors[what] <= max(
                               2 * errors['paper_' + what], FLOOR[dtype])]
                    line = (f'  {family} {precision} {layout} {mode}: '
                            f'outputs {errors["outputs"]:.1e} (paper '
                            f'{errors["paper_outputs"]:.1e}), grads '
                            f'{errors["grads"]:.1e} (paper '
                            f'{errors["paper_grads"]:.1e})')
                    log(line + (f'  FAILED ({", ".join(bad)})' if bad
                                else ''))
                    if bad:
                        failures.append(line.strip())
    log(f'forms: {count - len(failures)} of {count} checks passed')
    return failures


def channels_last(x):
    if isinstance(x, list):
        return [t.contiguous(memory_format=torch.channels_last) for t in x]
    return x.contiguous(memory_format=torch.channels_last)


def check_mask_rcnn(args, device, log) -> List[str]:
    """A few AMP training steps of ECA Mask R-CNN on generated data."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    from mmdet_eca.compat import grad_scaler
    from mmdet_eca.layers import ECAModule

    register_all_modules(init_default_scope=True)
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = Config.fromfile(
        osp.join(root, 'configs', 'mask_rcnn_ecanet50_fpn_1x_coco.py')).model
    cfg.backbone.init_cfg = None
    h, w = (64, 96) if args.quick else (800, 1216)
    if args.quick:  # narrow and few RoIs: seconds on a CPU
        cfg.backbone.base_channels = 8
        cfg.neck.in_channels = [32, 64, 128, 256]
        cfg.train_cfg.rpn_proposal.max_per_img = 50
        cfg.train_cfg.rcnn.sampler.num = 16
    torch.manual_seed(0)
    model = MODELS.build(cfg).to(device).train()
    # frozen_stages=1 freezes layer1's ECAs with the rest of the stage
    weights = [m.conv.weight for m in model.modules()
               if isinstance(m, ECAModule) and m.conv.weight.requires_grad]
    reached = set()
    optim = torch.optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
    # AMP where mmcv's ops take half precision (CUDA); float32 elsewhere
    amp = device.type == 'cuda'
    scaler = grad_scaler(device.type, enabled=amp)
    failures = []
    for step in range(args.steps):
        data = model.data_preprocessor(
            detector_batch(2, h, w, cfg.roi_head.bbox_head.num_classes,
                           seed=step), True)
        # torch 2.1 refuses CPU autocast to float16 even when disabled
        with (torch.autocast(device.type, dtype=torch.float16) if amp
              else contextlib.nullcontext()):
            losses = model(**data, mode='loss')
            loss, parts = model.parse_losses(losses)
        scaler.scale(loss).backward()
        reached.update(i for i, p in enumerate(weights)
                       if p.grad is not None and bool((p.grad != 0).any()))
        scaler.step(optim)
        scaler.update()
        optim.zero_grad(set_to_none=True)
        text = ', '.join(f'{k} {v.item():.3f}' for k, v in parts.items()
                         if k.startswith('loss'))
        log(f'  step {step + 1}{" (AMP)" if amp else ""}: {text}')
        if not all(math.isfinite(v.item()) for v in parts.values()):
            failures.append(f'Mask R-CNN step {step + 1}: a loss is not '
                            f'finite ({text})')
    log(f'Mask R-CNN: {len(reached)} of {len(weights)} trainable ECA '
        'weights got a gradient')
    if len(reached) != len(weights) or not weights:
        failures.append(f'Mask R-CNN: {len(weights) - len(reached)} of '
                        f'{len(weights)} trainable ECA weights got no '
                        'gradient')
    return failures


def detector_batch(batch: int, h: int, w: int, num_classes: int,
                   seed: int = 0) -> dict:
    """A generated batch with boxes and masks, as a data loader gives it."""
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 255, (3, h, w), generator=gen,
                                    dtype=torch.uint8))
        n = 6
        corner = torch.rand(n, 2, generator=gen) * 0.6 * torch.tensor(
            [w, h])
        size = (torch.rand(n, 2, generator=gen) * 0.3 + 0.1) * torch.tensor(
            [w, h])
        boxes = torch.cat([corner, torch.minimum(
            corner + size, torch.tensor([w, h]).float())], 1)
        masks = torch.zeros(n, h, w, dtype=torch.uint8)
        for i, (x1, y1, x2, y2) in enumerate(boxes.int().tolist()):
            masks[i, y1:y2, x1:x2] = 1
        sample = DetDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
            scale_factor=(1.0, 1.0), batch_input_shape=(h, w)))
        sample.gt_instances = InstanceData(
            bboxes=boxes, labels=torch.randint(0, num_classes, (n, ),
                                               generator=gen),
            masks=BitmapMasks(masks.numpy(), h, w))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def timing_table(args, device, log) -> str:
    """The benchmark's none / ECA / SE comparison of every family at
    batch 1 (``--quick``: the neck at a tiny size, one repeat)."""
    families = ['neck'] if args.quick else list(TIMED_FAMILIES)
    rows = []
    for family in families:
        for mode in ('eval', 'train'):
            settings = BenchmarkSettings(
                family=family, batch=1, mode=mode, device=device.type,
                resolution=((64, 64) if args.quick else
                            TIMED_FAMILIES[family].resolution),
                repeats=1 if args.quick else args.repeats,
                warmup=1 if args.quick else 3, control=True)
            rows.append(summary_row(run_comparison(settings, log=log)))
    return format_summary(rows)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0], epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default=None,
                        help='cuda (default when available) or cpu')
    parser.add_argument('--quick', action='store_true',
                        help='tiny models and inputs: a self-test')
    parser.add_argument('--families', nargs='+', choices=list(FAMILIES),
                        default=list(FAMILIES),
                        help='families of the forms check (default all)')
    parser.add_argument('--steps', type=int, default=3,
                        help='Mask R-CNN training steps (default 3)')
    parser.add_argument('--repeats', type=int, default=10,
                        help='timed runs per model (default 10)')
    parser.add_argument('--skip-timing', action='store_true',
                        help='leave out the timing table')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            sys.exit('error: --device cuda: CUDA is not available to this '
                     f'PyTorch ({torch.__version__})')
        # TF32 would round float32 convolutions to 1e-3 on both sides
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        name = torch.cuda.get_device_name(device)
    else:
        name = 'CPU'
    start = time.perf_counter()

    def log(message: str) -> None:
        print(f'[{time.perf_counter() - start:6.1f}s] {message}', flush=True)

    log(f'torch {torch.__version__} on {name}')
    failures = check_forms(args, device, log)
    failures += check_mask_rcnn(args, device, log)
    if not args.skip_timing:
        print(timing_table(args, device, log), flush=True)
    if failures:
        print(f'check_cuda: FAILED on {name}: {len(failures)} failures, '
              f'first: {failures[0]}')
        return 1
    print(f'check_cuda: OK on {name}: every form matches the paper\'s, '
          f'Mask R-CNN trains ({time.perf_counter() - start:.0f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
