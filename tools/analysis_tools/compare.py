"""Side-by-side speed and memory of ResNet, ECA-ResNet and SE-ResNet.

:func:`run_comparison` builds the three backbones of one depth (see
:func:`.backbones.build_comparison`), or the three EfficientNets of one arch
(:func:`.backbones.build_efficientnet_comparison`), checks that their
outputs have the same shapes, times an inference forward or a training step
(forward and backward) of each with the runs interleaved (:mod:`.timing`),
then measures each one's peak memory (:mod:`.memory`) in separate runs,
since recording allocations slows a run down. :func:`format_table` prints
the result.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from .allocator import retain_freed_memory
from .backbones import build_comparison, build_efficientnet_comparison
from .families import Inputs, build_family, family_inputs
from .memory import page_faults, peak_memory
from .timing import CLOCK_NAMES, summarize, time_interleaved


@dataclass
class BenchmarkSettings:
    """What to run; the fields mirror ``tools/benchmark.py``'s flags.

    Args:
        depth (int): ResNet depth. Defaults to 50.
        batch (int): Images per batch. Defaults to 2.
        resolution (tuple[int, int]): Input (H, W). Defaults to (512, 512).
        mode (str): ``'eval'`` (forward under ``no_grad``) or ``'train'``
            (forward and backward of the sum of the outputs' means).
            Defaults to ``'eval'``.
        norm_eval (bool): In train mode, keep BatchNorm in eval mode
            (frozen statistics), MMDetection's default for detectors.
            Defaults to True.
        channels_last (bool): Use the channels-last memory format.
            Defaults to False.
        threads (int, optional): ``torch.set_num_threads`` for the run;
            None leaves PyTorch's setting. Defaults to None.
        repeats (int): Timed runs of each model. Defaults to 20.
        warmup (int): Untimed runs of each model first. Defaults to 2.
        device (str): ``'cpu'`` or ``'cuda'``. Defaults to ``'cpu'``.
        memory (bool): Also measure peak memory. Defaults to True.
        clock (str): ``'wall'`` (elapsed time), ``'cpu'`` (this
            process's CPU time) or ``'user'`` (its user-mode CPU time), see
            :data:`.timing.CLOCKS`. Defaults to ``'wall'``.
        control (bool): Also time an identical copy of the ResNet, whose
            ratios show the measurement's noise. Defaults to False.
        retain_freed_memory (bool): Make glibc keep freed memory for reuse
            (see :mod:`.allocator`), so that steps reuse pages instead of
            faulting in fresh ones. It stays so for the rest of the
            process. Defaults to False.
        efficientnet (str, optional): An EfficientNet arch (``'b0'``):
            compare EfficientNets without attention, with SE and with ECA
            instead of the ResNets of ``depth``. Defaults to None.
        eca_plugin (bool): Also run MMDetection's ResNet with the ECA
            plugin (ECAResNet's model and weights, the paper's
            computation). Defaults to False.
        family (str, optional): A family of :mod:`.families` (its none /
            ECA / SE models and its input) instead of ``depth``,
            ``efficientnet`` and ``eca_plugin``. Defaults to None.
    """
    depth: int = 50
    batch: int = 2
    resolution: Tuple[int, int] = (512, 512)
    mode: str = 'eval'
    norm_eval: bool = True
    channels_last: bool = False
    threads: Optional[int] = None
    repeats: int = 20
    warmup: int = 2
    device: str = 'cpu'
    memory: bool = True
    clock: str = 'wall'
    control: bool = False
    retain_freed_memory: bool = False
    efficientnet: Optional[str] = None
    eca_plugin: bool = False
    family: Optional[str] = None


@dataclass
class BenchmarkResult:
    """Per-model timings (seconds) and peak memory (bytes).

    ``stats`` maps each model name to ``min``, ``median``, ``min_ratio``,
    ``median_ratio`` and ``paired_ratio`` (ratios to the baseline, the
    first model, see :func:`.timing.summarize`), and
    ``peak_bytes`` to its peak memory when it was measured, and
    ``page_faults`` to the minor page faults of one step (CPU only).
    """
    settings: BenchmarkSettings
    baseline: str
    stats: Dict[str, Dict[str, float]]
    peak_bytes: Dict[str, int] = field(default_factory=dict)
    page_faults: Dict[str, int] = field(default_factory=dict)
    output_shapes: List[Tuple[int, ...]] = field(default_factory=list)


def make_step(model: nn.Module, inputs: Inputs,
              mode: str) -> Callable[[], None]:
    """A callable running one forward (eval) or training step (train).

    Args:
        model (nn.Module): A backbone (or neck) returning a tuple of
            feature maps, already in the wanted train/eval state.
        inputs (Tensor | tuple[Tensor]): Its input batch (a neck's: the
            feature maps; those that require grad get it each step).
        mode (str): ``'eval'`` or ``'train'``.
    """
    leaves = [t for t in (inputs if isinstance(inputs, tuple) else
                          (inputs, )) if t.requires_grad]
    if mode == 'eval':

        def step():
            with torch.no_grad():
                model(inputs)
    elif mode == 'train':

        def step():
            outs = model(inputs)
            sum(out.mean() for out in outs).backward()
            # Gradients are freed here, not at the next step's start, so
            # that every measured step starts from the same state.
            model.zero_grad(set_to_none=True)
            for t in leaves:
                t.grad = None
    else:
        raise ValueError(f"mode must be 'eval' or 'train', got {mode!r}")
    return step


def _prepare(model: nn.Module, settings: BenchmarkSettings,
             device: torch.device) -> nn.Module:
    model.to(device)
    if settings.channels_last:
        model.to(memory_format=torch.channels_last)
    # mmdet's ResNet.train() returns None, so no chaining.
    model.train(settings.mode == 'train')
    return model


def _prepare_input(t: torch.Tensor, settings: BenchmarkSettings,
                   device: torch.device) -> torch.Tensor:
    t = t.to(device)
    if settings.channels_last:
        t = t.contiguous(memory_format=torch.channels_last)
    # a neck's input comes from a backbone that trains with it
    if settings.mode == 'train' and settings.family == 'neck':
        t.requires_grad_()
    return t


def run_comparison(settings: BenchmarkSettings,
                   log: Callable[[str], None] = print) -> BenchmarkResult:
    """Time (and measure the memory of) the three backbones.

    Args:
        settings (BenchmarkSettings): What to run.
        log (Callable[[str], None]): Progress messages. Defaults to print.

    Returns:
        BenchmarkResult: Timings, ratios to the model without attention
        (ResNet, PlainEfficientNet) and peak memory.
    """
    device = torch.device(settings.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda given but CUDA is not available')
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    if settings.retain_freed_memory:
        retain_freed_memory()
    if settings.family:
        models = build_family(settings.family, control=settings.control,
                              norm_eval=settings.norm_eval)
    elif settings.efficientnet:
        models = build_efficientnet_comparison(
            settings.efficientnet,
            control=settings.control,
            norm_eval=settings.norm_eval)
    else:
        models = build_comparison(
            settings.depth,
            control=settings.control,
            eca_plugin=settings.eca_plugin,
            norm_eval=settings.norm_eval)
    models = {k: _prepare(m, settings, device) for k, m in models.items()}
    inputs = family_inputs(settings.family or 'resnet', settings.batch,
                           settings.resolution)
    inputs = tuple(
        _prepare_input(t, settings, device)
        for t in (inputs if isinstance(inputs, tuple) else (inputs, )))
    # a backbone takes the batch, a neck the tuple of feature maps
    inputs = inputs if len(inputs) > 1 else inputs[0]

    with torch.no_grad():
        shapes = {
            name: [tuple(o.shape) for o in model(inputs)]
            for name, model in models.items()
        }
    baseline = next(iter(models))
    for name, shape in shapes.items():
        if shape != shapes[baseline]:
            raise RuntimeError(f'{name} returns shapes {shape}, '
                               f'{baseline} {shapes[baseline]}')

    steps = {
        name: make_step(model, inputs, settings.mode)
        for name, model in models.items()
    }
    sync = torch.cuda.synchronize if device.type == 'cuda' else None
    height, width = settings.resolution
    log(f'{settings.mode}, batch {settings.batch}, {height}x{width}: '
        f'timing {", ".join(steps)}: {settings.repeats} interleaved '
        f'repeats after {settings.warmup} warm-up runs each, '
        f'{torch.get_num_threads()} thread(s)')
    times = time_interleaved(steps, settings.repeats, settings.warmup, sync,
                             settings.clock)
    result = BenchmarkResult(settings, baseline, summarize(times, baseline),
                             output_shapes=shapes[baseline])
    # Page faults before peak memory: the profiler's records of the
    # latter grow the heap, which would charge the next step fresh pages.
    if device.type == 'cpu':
        for name, step in steps.items():
            result.page_faults[name] = page_faults(step)
    if settings.memory:
        for name, step in steps.items():
            result.peak_bytes[name] = peak_memory(step, device)
    return result


def format_table(result: BenchmarkResult) -> str:
    """A plain-text (also valid Markdown) table of ``result``.

    Args:
        result (BenchmarkResult): Output of :func:`run_comparison`.
    """
    s = result.settings
    height, width = s.resolution
    what = ('inference forward' if s.mode == 'eval' else
            'training step (forward + backward), BatchNorm ' +
            ('frozen (norm_eval=True)' if s.norm_eval else
             'with batch statistics (norm_eval=False)'))
    threads = torch.get_num_threads() if s.device == 'cpu' else '-'
    base = result.baseline.split('-')[0]  # ResNet, FPN, CSPNeXt ...
    source = ("ResNet-50's feature maps of a " if s.family == 'neck' else
              'input ')
    lines = [
        f'{s.family + ": " if s.family else ""}{what}; '
        f'{source}{s.batch}x3x{height}x{width}, device {s.device}, '
        f'threads {threads}, '
        f'{"channels_last" if s.channels_last else "contiguous (NCHW)"}, '
        f'{s.repeats} interleaved repeats, '
        f'{CLOCK_NAMES[s.clock]}' +
        (', freed memory retained' if s.retain_freed_memory else ''),
        '',
        f'| backbone | median (ms) | min (ms) | median / {base} '
        f'| min / {base} | paired / {base} | peak memory (MiB) '
        f'| memory / {base} | page faults / step |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    base_peak = result.peak_bytes.get(result.baseline)
    for name, st in result.stats.items():
        peak = result.peak_bytes.get(name)
        peak_text = '-' if peak is None else f'{peak / 2**20:.1f}'
        ratio_text = ('-' if peak is None or not base_peak else
                      f'{peak / base_peak:.3f}')
        lines.append(
            f'| {name} | {st["median"] * 1e3:.1f} | {st["min"] * 1e3:.1f} '
            f'| {st["median_ratio"]:.3f} | {st["min_ratio"]:.3f} '
            f'| {st["paired_ratio"]:.3f} '
            f'| {peak_text} | {ratio_text} '
            f'| {result.page_faults.get(name, "-")} |')
    lines += ['', 'paired: median over repeats of the ratio of two runs made '
              'back to back']
    if result.peak_bytes:
        how = ('torch.cuda.max_memory_allocated'
               if s.device == 'cuda' else
               'torch.profiler allocation records (profile_memory=True)')
        lines += ['', f'peak memory: most tensor memory live at once during '
                  f'one {"step" if s.mode == "train" else "forward"}, over '
                  f'what was live before it, from {how}']
    return '\n'.join(lines)
