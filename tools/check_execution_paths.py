"""Where ECA-ResNet runs, and how far each path is from the paper's ECA.

Builds an ECA-ResNet (random weights and BatchNorm statistics, eval mode),
computes its outputs with every ECA block written out as the paper has it
(pool, 1-D convolution, sigmoid, multiply) in float64, then runs the model
through each execution path and prints, per path, whether the cheaper
computation ran and the largest absolute difference from that reference
(and over the largest output magnitude). Paths whose package is missing
are reported as skipped. The tests (tests/test_layers/
test_execution_paths.py) check the same on small models; this prints the
figures for a full-size one.
"""
import argparse
import contextlib
import copy
import importlib.util
import os
import shutil
import sys
import tempfile
import time

import torch
from analysis_tools.paper_eca import FormCounter, paper_formulation

EXAMPLES = """examples:
  python tools/check_execution_paths.py
  python tools/check_execution_paths.py --depth 101 --size 320 480
"""


def errors(actual, expected):
    abs_error, scale = 0.0, 1.0
    for a, e in zip(actual, expected):
        a = torch.as_tensor(a).double()
        abs_error = max(abs_error, (a - e).abs().max().item())
        scale = max(scale, e.abs().max().item())
    return abs_error, abs_error / scale


def onnx_path_runner(model, x, dynamo, folder):
    from mmdet_eca.compat import onnx_export
    path = os.path.join(folder, f'model_{int(dynamo)}.onnx')
    if dynamo:
        dim = torch.export.Dim.AUTO
        onnx_export(model, (x, ), path, dynamo=True,
                    dynamic_shapes=({0: dim, 2: dim, 3: dim}, ),
                    external_data=False, verbose=False)
    else:
        onnx_export(model, (x, ), path, dynamo=False, input_names=['input'])
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return lambda inp: session.run(None, {name: inp.numpy()})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0], epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--depth', type=int, default=50,
                        choices=[18, 34, 50, 101, 152])
    parser.add_argument('--size', type=int, nargs=2, default=(224, 224),
                        metavar=('H', 'W'), help='input size (default 224)')
    parser.add_argument('--skip', nargs='*', default=[],
                        help='paths to leave out, e.g. compile')
    args = parser.parse_args(argv)

    import mmdet_eca  # noqa: F401  registers the backbones
    from mmdet_eca.backbones import ECAResNet
    from mmdet_eca.compat import (ONNX_EXPORT_HAS_DYNAMO,
                                  cpu_autocast_supported)
    torch.manual_seed(0)
    model = ECAResNet(depth=args.depth)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith('running_mean'):
                t.copy_(torch.rand(t.shape, generator=gen) - 0.5)
    model.eval()
    x = torch.randn(1, 3, *args.size, generator=gen)
    ref = copy.deepcopy(model).double()
    with torch.no_grad(), paper_formulation():
        expected = [o for o in ref(x.double())]

    def eager(inp):
        return model(inp)

    def channels_last(inp):
        cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
        return cl(inp.contiguous(memory_format=torch.channels_last))

    def autocast_skip(dtype):
        if not cpu_autocast_supported(dtype):
            return f'this torch has no CPU autocast to {dtype}'
        return None

    def autocast(dtype, paper=False):
        def run(inp):
            m = copy.deepcopy(model)
            ctx = paper_formulation() if paper else contextlib.nullcontext()
            with torch.autocast('cpu', dtype=dtype), ctx:
                return [o.float() for o in m(inp)]
        return run

    has_ort = all(
        importlib.util.find_spec(p) for p in ('onnx', 'onnxruntime'))
    has_script = importlib.util.find_spec('onnxscript') is not None
    folder = tempfile.mkdtemp()  # the .onnx files; removed at the end
    # (name, how to build the runner (recorded here), why it may be skipped)
    paths = [
        ('eager', lambda: eager, None),
        ('eager, channels_last', lambda: channels_last, None),
        ('torch.jit.trace', lambda: torch.jit.trace(
            model, x, check_trace=False), None),
        ('ONNX, TorchScript exporter (dynamo=False) + onnxruntime',
         lambda: onnx_path_runner(model, x, False, folder),
         None if has_ort else 'needs onnx, onnxruntime'),
        ('ONNX, dynamo exporter + onnxruntime',
         lambda: onnx_path_runner(model, x, True, folder),
         None if has_ort and has_script and ONNX_EXPORT_HAS_DYNAMO else
         'needs onnx, onnxruntime, onnxscript, torch >= 2.5'),
        ('torch.fx.symbolic_trace', lambda: torch.fx.symbolic_trace(model),
         None),
        ('torch.compile (inductor)', lambda: torch.compile(model), None),
        ('autocast bfloat16', lambda: autocast(torch.bfloat16),
         autocast_skip(torch.bfloat16)),
        ('autocast bfloat16, paper formulation',
         lambda: autocast(torch.bfloat16, True),
         autocast_skip(torch.bfloat16)),
        ('autocast float16', lambda: autocast(torch.float16),
         autocast_skip(torch.float16)),
        ('autocast float16, paper formulation',
         lambda: autocast(torch.float16, True), autocast_skip(torch.float16)),
    ]
    print(f'ECA-ResNet-{args.depth}, eval, input 1x3x{args.size[0]}x'
          f'{args.size[1]}, torch {torch.__version__}; reference: the '
          "paper's formulation in float64\n")
    print('| path | cheaper ECA forms ran | max abs diff | relative | '
          'time (s) |')
    print('|---|---|---:|---:|---:|')
    for name, make, skip in paths:
        if skip or any(s in name for s in args.skip):
            print(f'| {name} | skipped ({skip or "--skip"}) | | | |')
            continue
        start = time.perf_counter()
        with FormCounter() as counter, torch.no_grad():
            runner = make()
            out = runner(x)
        abs_error, rel_error = errors(out, expected)
        print(f'| {name} | {"yes" if counter.eager else "no"} '
              f'| {abs_error:.2e} | {rel_error:.2e} '
              f'| {time.perf_counter() - start:.0f} |', flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
