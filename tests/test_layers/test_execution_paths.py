"""ECA backbones give the paper's outputs however they are run.

Eager PyTorch takes the cheaper forms of ``mmdet_eca.layers.eca_scale``;
tracers, exporters and compilers (``torch.jit.trace``, both ONNX exporters,
``torch.fx``, ``torch.compile``) get the paper's ``x * gate``. Every test
runs a small ECA-ResNet (Bottleneck and BasicBlock) or ECA-MobileNetV2
through one path and compares it with ``paper_formulation``
(``tools/analysis_tools/paper_eca.py``), the same model with every ECA
multiplying as the paper writes it, and checks by spying on the scaling's
choice that each path took the form it should.
"""
import copy
import importlib.util

import pytest
import torch

from mmdet_eca.backbones import ECAMobileNetV2, ECAResNet
from mmdet_eca.compat import (ONNX_EXPORT_HAS_DYNAMO, cpu_autocast_supported,
                              onnx_export)
from analysis_tools.paper_eca import FormCounter, paper_formulation

TOL = 1e-4
MODELS = ['bottleneck', 'basic', 'mobilenet']
needs_onnxruntime = pytest.mark.skipif(
    importlib.util.find_spec('onnxruntime') is None
    or importlib.util.find_spec('onnx') is None,
    reason='needs onnx and onnxruntime (pip install onnx onnxruntime)')
needs_onnxscript = pytest.mark.skipif(
    importlib.util.find_spec('onnxscript') is None
    or not ONNX_EXPORT_HAS_DYNAMO,
    reason='the dynamo ONNX exporter needs onnxscript and torch >= 2.5')
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason='needs a CUDA device')


def build(kind, mode='eval'):
    """A small ECA backbone with random weights and BN statistics.

    ``mode``: 'eval', 'frozen' (train with norm_eval=True, as detectors
    train) or 'train' (batch statistics).
    """
    torch.manual_seed(0)
    if kind == 'mobilenet':
        model = ECAMobileNetV2(widen_factor=0.25, norm_eval=mode == 'frozen')
    else:
        model = ECAResNet(depth=50 if kind == 'bottleneck' else 18,
                          base_channels=8, norm_eval=mode == 'frozen')
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('running_var') or name.endswith('.weight') \
                    and t.dim() == 1:
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith('running_mean') or name.endswith('.bias'):
                t.copy_(torch.rand(t.shape, generator=gen) - 0.5)
    model.train(mode != 'eval')
    return model


@pytest.fixture
def spy():
    """``spy.eager``: ECA scalings that could take a cheaper form;
    ``spy.recorded``: those a tracer, exporter or compiler recorded."""
    with FormCounter() as counter:
        yield counter


def max_error(actual, expected):
    """Largest difference over the largest magnitude (at least 1)."""
    actual = actual if isinstance(actual, (list, tuple)) else [actual]
    expected = expected if isinstance(expected,
                                      (list, tuple)) else [expected]
    assert len(actual) == len(expected)
    error, scale = 0.0, 1.0
    for a, e in zip(actual, expected):
        a = torch.as_tensor(a)
        assert a.shape == e.shape
        error = max(error, (a.double() - e.double()).abs().max().item())
        scale = max(scale, e.abs().max().item())
    return error / scale


def reference(model, x):
    """The paper's outputs of a copy of ``model`` (its BN statistics are
    left as they were)."""
    ref = copy.deepcopy(model)
    with torch.no_grad(), paper_formulation():
        return [o.detach() for o in ref(x)]


def inputs(*shape, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(2),
                       dtype=dtype)


@pytest.mark.parametrize('kind', MODELS)
@pytest.mark.parametrize('mode', ['eval', 'frozen', 'train'])
def test_eager_takes_the_cheaper_forms(kind, mode, spy):
    model = build(kind, mode)
    x = inputs(2, 3, 64, 64).requires_grad_()
    expected = reference(model, x)
    out = model(x)
    assert max_error(out, expected) <= TOL
    sum(o.sum() for o in out).backward()
    assert x.grad is not None
    assert spy.eager > 0 and spy.recorded == 0


@pytest.mark.parametrize('kind', ['bottleneck', 'mobilenet'])
@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_channels_last(kind, mode, spy):
    model = build(kind, mode).to(memory_format=torch.channels_last)
    x = inputs(2, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    expected = reference(model, x)
    assert max_error(model(x), expected) <= TOL
    assert spy.eager > 0


@pytest.mark.parametrize('kind', MODELS)
def test_jit_trace(kind, spy):
    model = build(kind)
    with torch.no_grad():
        traced = torch.jit.trace(
            model, inputs(1, 3, 64, 64), check_trace=False)
    assert spy.eager == 0
    # another batch and size than traced with: nothing size-bound is frozen
    x = inputs(2, 3, 48, 80)
    with torch.no_grad():
        assert max_error(traced(x), reference(model, x)) <= TOL


def _onnxruntime(path, x):
    import onnxruntime as ort
    session = ort.InferenceSession(
        str(path), providers=['CPUExecutionProvider'])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})


@needs_onnxruntime
@pytest.mark.parametrize('kind', MODELS)
def test_onnx_torchscript_exporter(kind, spy, tmp_path):
    # The exporter mmdeploy uses. An earlier fused form exported through it
    # returned garbage (73% off for ECAResNet-50).
    model = build(kind)
    path = tmp_path / 'model.onnx'
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    names = [f'out{i}' for i in range(4)]
    onnx_export(
        model, (inputs(1, 3, 64, 64), ), str(path), dynamo=False,
        input_names=['input'], output_names=names,
        dynamic_axes={n: axes for n in ['input'] + names})
    assert spy.eager == 0
    x = inputs(2, 3, 48, 80)
    assert max_error(_onnxruntime(path, x), reference(model, x)) <= TOL


@needs_onnxruntime
@needs_onnxscript
def test_onnx_dynamo_exporter(spy, tmp_path):
    model = build('basic')
    path = tmp_path / 'model.onnx'
    dim = torch.export.Dim.AUTO
    onnx_export(
        model, (inputs(1, 3, 64, 64), ), str(path), dynamo=True,
        dynamic_shapes=({0: dim, 2: dim, 3: dim}, ), external_data=False,
        verbose=False)
    assert spy.eager == 0
    x = inputs(2, 3, 48, 80)
    assert max_error(_onnxruntime(path, x), reference(model, x)) <= TOL


@pytest.mark.parametrize('kind', MODELS)
@pytest.mark.parametrize('mode', ['eval', 'frozen', 'train'])
def test_fx_symbolic_trace(kind, mode, spy):
    model = build(kind, mode)
    graph = torch.fx.symbolic_trace(model)
    assert spy.eager == 0
    x = inputs(2, 3, 48, 80)
    expected = reference(model, x)  # before the graph updates BN stats
    assert max_error(graph(x), expected) <= TOL


def test_torch_compile(spy):
    # One small case: inductor compiles for a while on CPU.
    model = build('basic')
    compiled = torch.compile(model, fullgraph=True)
    x = inputs(2, 3, 32, 32)
    with torch.no_grad():
        out = compiled(x)
    assert spy.eager == 0
    assert max_error(out, reference(model, x)) <= TOL


@pytest.mark.parametrize('dtype,kind,mode,channels_last', [
    (torch.bfloat16, kind, mode, False) for kind in ('bottleneck', 'basic')
    for mode in ('eval', 'frozen', 'train')
] + [(torch.bfloat16, 'bottleneck', 'frozen', True)] +
    [(torch.float16, 'bottleneck', mode, False) for mode in ('eval', 'train')])
def test_autocast_takes_the_cheaper_forms(dtype, kind, mode, channels_last,
                                          spy):
    if not cpu_autocast_supported(dtype):
        pytest.skip(f'CPU autocast to {dtype} unsupported here')
    model = build(kind, mode)
    x = inputs(2, 3, 64, 64)
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    exact = reference(model.double(), x.double())
    model.float()
    paper = copy.deepcopy(model)
    with torch.autocast('cpu', dtype=dtype):
        out = model(x)
        with paper_formulation():
            expected = paper(x)
    assert spy.eager > 0
    assert [o.dtype for o in out] == [o.dtype for o in expected]
    # The paper's formulation in low precision is off from float64 by its
    # rounding; the cheaper forms may be no further off than that.
    paper_error = max_error(expected, exact)
    assert max_error(out, exact) <= 2 * paper_error
    if mode != 'train':
        # and the two are a few units in the last place apart (batch
        # statistics over the last stages' 2x2 maps amplify any rounding
        # difference, so there only the first bound means anything)
        assert max_error(out, expected) <= 4 * torch.finfo(dtype).eps
    if mode != 'eval':
        sum(o.float().sum() for o in out).backward()
        assert all(p.grad is not None for p in model.parameters()
                   if p.requires_grad)


@needs_cuda
@pytest.mark.parametrize('kind', ['bottleneck', 'basic'])
@pytest.mark.parametrize('mode', ['eval', 'frozen', 'train'])
@pytest.mark.parametrize('channels_last', [False, True])
def test_cuda(kind, mode, channels_last, spy, monkeypatch):
    # TF32 would round the convolutions of both sides to 1e-3
    monkeypatch.setattr(torch.backends.cudnn, 'allow_tf32', False)
    model = build(kind, mode).cuda()
    x = inputs(2, 3, 64, 64).cuda()
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    paper = copy.deepcopy(model)
    x.requires_grad_(mode != 'eval')
    out = model(x)
    with paper_formulation():
        expected = paper(x)
    assert max_error(out, expected) <= TOL
    assert spy.eager > 0
    if mode != 'eval':
        assert_same_gradients(model, paper, out, expected)


def assert_same_gradients(model, paper, out, expected, tol=TOL):
    """Backward of both, with the same upstream gradient: every parameter's
    gradient agrees within ``tol`` of the largest."""
    for outs, net in ((out, model), (expected, paper)):
        sum((o.float() * torch.linspace(-1, 1, o.numel(), device=o.device)
             .view(o.shape)).sum() for o in outs).backward()
    fast = [p.grad for p in model.parameters() if p.requires_grad]
    ref = [p.grad for p in paper.parameters() if p.requires_grad]
    assert all(g is not None for g in fast + ref)
    assert max_error(fast, ref) <= tol


@needs_cuda
@pytest.mark.parametrize('mode', ['eval', 'frozen', 'train'])
def test_cuda_autocast_float16(mode, spy):
    model = build('bottleneck', mode).cuda()
    x = inputs(2, 3, 64, 64).cuda()
    exact = reference(copy.deepcopy(model).double(), x.double())
    paper = copy.deepcopy(model)
    with torch.autocast('cuda', dtype=torch.float16):
        out = model(x)
        with paper_formulation():
            expected = paper(x)
    assert spy.eager > 0
    assert max_error(out, exact) <= 2 * max_error(expected, exact)
    if mode != 'eval':
        assert_same_gradients(model, paper, out, expected, tol=1e-2)
