"""The ECA plugin in every MMDetection backbone with plugin slots.

Each backbone is built from a config dict, as a detector config builds it,
at a tiny width, with ``plugins=[dict(cfg=dict(type='ECA'),
position='after_conv3')]``, and must hold one ECA per block, train (forward
and backward), and give the same outputs traced and exported as eagerly.
"""
import importlib.util

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope

from mmdet_eca.compat import onnx_export
from mmdet_eca.layers import ECA

PLUGIN = [dict(cfg=dict(type='ECA'), position='after_conv3')]
SMALL = dict(depth=50, stem_channels=16, base_channels=16)
BACKBONES = {
    'ResNet': dict(type='ResNet', **SMALL),
    'ResNetV1d': dict(type='ResNetV1d', **SMALL),
    'ResNeXt': dict(type='ResNeXt', groups=4, base_width=4, **SMALL),
    # w0/wa/wm/group_w/depth/bot_mul as in MMDetection's RegNet archs
    'RegNet': dict(type='RegNet', arch=dict(w0=8, wa=8.0, wm=2.0,
                                            group_w=8, depth=8, bot_mul=1.0),
                   stem_channels=16, base_channels=16),
    'Res2Net': dict(type='Res2Net', scales=4, base_width=8, **SMALL),
    'ResNeSt': dict(type='ResNeSt', radix=2, reduction_factor=4, **SMALL),
    'DetectoRS_ResNet': dict(type='DetectoRS_ResNet', **SMALL),
    # TridentNet's three branches share the last stage's weights
    'TridentResNet': dict(type='TridentResNet', num_stages=3,
                          strides=(1, 2, 2), dilations=(1, 1, 1),
                          out_indices=(2, ), trident_dilations=(1, 2, 3),
                          num_branch=3, test_branch_idx=1, **SMALL),
}
needs_onnx = pytest.mark.skipif(
    importlib.util.find_spec('onnxruntime') is None
    or importlib.util.find_spec('onnx') is None,
    reason='needs onnx and onnxruntime (pip install onnx onnxruntime)')


@pytest.fixture(autouse=True)
def mmdet_scope():
    init_default_scope('mmdet')


def build(name, **kwargs):
    """The backbone with random norm weights and calibrated statistics."""
    torch.manual_seed(0)
    model = MODELS.build(dict(BACKBONES[name], plugins=PLUGIN, **kwargs))
    model.init_weights()
    for module in model.modules():
        if type(module).__name__ == 'TridentConv':
            # mmdet 3.3's TridentConv allocates its weight uninitialised
            # and init_weights() leaves it so (its init_cfg overrides a
            # 'conv2' child it does not have): memory garbage, NaN at times
            torch.nn.init.kaiming_uniform_(module.weight, a=5**0.5)
    norms = [m for m in model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        # MMDetection zero-initialises each block's last norm, which would
        # make every attention scale zeros
        for norm in norms:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
            norm.momentum = None  # running stats := one batch's
        # Statistics of real features: with the initial unit statistics,
        # 16 blocks of random weights grow features to 1e17 and beyond.
        norm_eval, model.norm_eval = model.norm_eval, False
        model.train()
        model(torch.randn(4, 3, 64, 64))
        model.norm_eval = norm_eval
    for norm in norms:
        norm.momentum = 0.1
    return model


def blocks_of(model):
    return [m for m in model.modules() if hasattr(m, 'conv1')
            and hasattr(m, 'norm3') and hasattr(m, 'downsample')]


def channels_of(block):
    return block.norm3.num_features


@pytest.mark.parametrize('name', BACKBONES)
def test_every_block_gets_an_eca_on_its_output_channels(name):
    model = build(name)
    blocks = blocks_of(model)
    assert blocks
    for block in blocks:
        assert block.after_conv3_plugin_names == ['eca']
        assert isinstance(block.eca, ECA)
        assert block.eca.in_channels == channels_of(block)
    ecas = [m for m in model.modules() if isinstance(m, ECA)]
    assert len(ecas) == len(blocks)
    # one [1, 1, k] weight each: the parameters ECA adds
    plain = MODELS.build(BACKBONES[name])
    extra = sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for p in plain.parameters())
    assert extra == sum(e.kernel_size for e in ecas)


@pytest.mark.parametrize('name', BACKBONES)
def test_forward_backward(name):
    model = build(name)
    model.train()
    x = torch.randn(2, 3, 64, 64, requires_grad=True)
    outs = model(x)
    plain = MODELS.build(BACKBONES[name])
    plain.train()  # mmdet's train() returns None: no chaining
    assert [o.shape for o in outs] == [o.shape for o in plain(x)]
    sum(o.mean() for o in outs).backward()
    assert x.grad is not None
    for m in model.modules():
        if isinstance(m, ECA) and m.conv.weight.requires_grad:
            assert m.conv.weight.grad is not None
            assert m.conv.weight.grad.abs().sum() > 0


def _eager(model, x):
    with torch.no_grad():
        return [o.detach() for o in model(x)]


def assert_close(actual, expected):
    """Equal up to 1e-4 of the largest magnitude (at least 1), as the
    execution path tests compare: float32 sums in another order."""
    scale = max(1.0, expected.abs().max().item())
    assert (actual - expected).abs().max().item() <= 1e-4 * scale


@pytest.mark.parametrize('name', BACKBONES)
def test_jit_trace_gives_the_eager_outputs(name):
    model = build(name)
    model.eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.randn(1, 3, 64, 64),
                                 check_trace=False)
    # the attention is recorded as the paper's operations, pooling included
    graph = str(traced.inlined_graph)
    assert 'aten::mean' in graph and 'aten::sigmoid' in graph
    x = torch.randn(2, 3, 64, 96)  # another batch and size than traced
    with torch.no_grad():
        for a, b in zip(traced(x), _eager(model, x)):
            assert_close(a, b)


@needs_onnx
@pytest.mark.parametrize('name', BACKBONES)
def test_onnx_export_gives_the_eager_outputs(name, tmp_path):
    import onnxruntime as ort
    model = build(name)
    model.eval()
    path = tmp_path / f'{name}.onnx'
    outs = _eager(model, torch.randn(1, 3, 64, 64))
    names = [f'out{i}' for i in range(len(outs))]
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    onnx_export(
        model, (torch.randn(1, 3, 64, 64), ), str(path), dynamo=False,
        input_names=['input'], output_names=names,
        dynamic_axes={n: axes for n in ['input'] + names})
    session = ort.InferenceSession(str(path),
                                   providers=['CPUExecutionProvider'])
    x = torch.randn(2, 3, 64, 96)
    for a, b in zip(session.run(None, {'input': x.numpy()}),
                    _eager(model, x)):
        assert_close(torch.from_numpy(a), b)
