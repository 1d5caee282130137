"""ECA in float16 and bfloat16 at COCO sizes stays finite and near float32.

``model.half()`` is how fp16 inference runs. A spatial sum in float16
passes fp16's largest value (65,504) once a map of mean 1 has more than
65,504 pixels: ResNet's stage 1 at 800 x 1344 has 200 x 336 = 67,200. The
backbones here are narrow (few channels, cheap on a CPU) but see the full
COCO test sizes, 800 x 1344 and 1344 x 800, so their maps are that large.

Tolerance: each low-precision output is compared with the same model in
float32 on the same (rounded) input, as the relative L2 error of each
output. The yardstick is MMDetection's own network without ECA (ResNet,
ResNetV1d, MobileNetV2; EfficientNet with its SE) run alike: ECA may at
most double that network's own rounding error, and the ResNets stay within
``RESNET_TOL``. Measured (one thread, 800 x 1344, fp16 / bf16): ECA-ResNet-50
5.6e-4 / 4.4e-3 against ResNet-50's 5.9e-4 / 4.6e-3; ECA-EfficientNet-B0
1.2e-2 / 1.0e-1 against EfficientNet-B0 (SE) 1.2e-2 / 1.1e-1;
ECA-MobileNetV2 3.7e-2 to 4.1e-2 (by seed) against 2.7e-2 in fp16, the
one family where ECA's 17 extra roundings show.
"""
import pytest
import torch
from mmdet.models.backbones import (EfficientNet, MobileNetV2, ResNet,
                                    ResNetV1d)

from mmdet_eca.backbones import (ECAEfficientNet, ECAMobileNetV2, ECAResNet,
                                 ECAResNetV1d)
from mmdet_eca.layers import ECAModule


def _cpu_convolution(dtype):
    try:
        torch.nn.functional.conv1d(torch.ones(1, 1, 3, dtype=dtype),
                                   torch.ones(1, 1, 1, dtype=dtype))
        return True
    except RuntimeError:  # torch 2.1: "slow_conv2d_cpu" not implemented
        return False


DTYPES = [
    pytest.param(dtype, marks=pytest.mark.skipif(
        not _cpu_convolution(dtype),
        reason=f'this torch has no {dtype} convolution on the CPU'))
    for dtype in (torch.float16, torch.bfloat16)
]
# bfloat16 keeps 8 bits of mantissa, float16 11
LAYER_TOL = {torch.float16: 1e-3, torch.bfloat16: 8e-3}
RESNET_TOL = {torch.float16: 2e-3, torch.bfloat16: 1.5e-2}
COCO_SIZES = [(800, 1344), (1344, 800)]


def relative_error(low, high):
    """Largest over the outputs of ``|low - high| / |high|`` (L2 norms)."""
    low = low if isinstance(low, (list, tuple)) else [low]
    high = high if isinstance(high, (list, tuple)) else [high]
    worst = 0.0
    for a, e in zip(low, high):
        assert torch.isfinite(a).all(), 'non-finite output'
        worst = max(worst, ((a.float() - e).norm() / e.norm()).item())
    return worst


def calibrated(model, biases=None):
    """``model`` with BatchNorm statistics of a batch of random images.

    Freshly initialised, the deeper stages of MobileNetV2 and EfficientNet
    shrink activations to 1e-8, below float16's normal range, and any
    network then looks imprecise; trained networks keep them near unit
    scale, as normalising with real batch statistics does. ``biases``
    ``(low, high)`` draws the BatchNorm biases from that range, giving the
    maps the positive means trained networks' often have: the sums that
    overflow float16.
    """
    norms = [m for m in model.modules()
             if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.momentum = 1.0
    gen = torch.Generator().manual_seed(1)
    model.train()
    with torch.no_grad():
        model(torch.randn(2, 3, 256, 256, generator=gen))
        for m in norms if biases else []:
            low, high = biases
            m.bias.copy_(low + (high - low) *
                         torch.rand(m.bias.shape, generator=gen))
    model.eval()  # mmdet's ResNet.train() returns None: no chaining
    return model


def run_both(model, x, dtype):
    """(low-precision outputs, float32 outputs) on the same rounded input."""
    x = x.to(dtype)
    with torch.no_grad():
        high = model.float()(x.float())
        low = model.to(dtype)(x)
    model.float()
    return low, high


@pytest.mark.parametrize('dtype', DTYPES)
def test_pooling_of_a_map_whose_sum_overflows(dtype):
    # ResNet stage 1 at 800 x 1344, mean 1: the float16 sum is 67,200
    eca = ECAModule(kernel_size=1).to(dtype)
    with torch.no_grad():
        eca.conv.weight.fill_(1)
    logits = eca.logits(torch.ones(1, 2, 200, 336, dtype=dtype))
    assert logits.dtype == dtype
    assert torch.equal(logits.float(), torch.ones(1, 2))


@pytest.mark.parametrize('dtype', DTYPES)
def test_eca_layer_at_coco_stage1_size(dtype):
    torch.manual_seed(0)
    eca = ECAModule(channels=256)
    x = torch.rand(1, 256, 200, 336) * 2  # mean 1
    low, high = run_both(eca, x, dtype)
    assert low.dtype == dtype
    assert relative_error(low, high) <= LAYER_TOL[dtype]


def _resnet(cls):
    return calibrated(
        cls(depth=50, base_channels=8, out_indices=(0, 1, 2, 3)),
        biases=(1.0, 2.0))


# name: (with ECA, MMDetection's without)
BACKBONES = {
    'ECAResNet': (lambda: _resnet(ECAResNet), lambda: _resnet(ResNet)),
    'ECAResNetV1d': (lambda: _resnet(ECAResNetV1d),
                     lambda: _resnet(ResNetV1d)),
    'ECAMobileNetV2': (
        lambda: calibrated(ECAMobileNetV2(widen_factor=0.25), (0.5, 1.0)),
        lambda: calibrated(MobileNetV2(widen_factor=0.25), (0.5, 1.0))),
    # shifted biases overflow the plain network's last layer in float16
    'ECAEfficientNet': (lambda: calibrated(ECAEfficientNet(arch='b0')),
                        lambda: calibrated(EfficientNet(arch='b0'))),
}


@pytest.mark.parametrize('size', COCO_SIZES, ids=['800x1344', '1344x800'])
@pytest.mark.parametrize('dtype', DTYPES, ids=['fp16', 'bf16'])
@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_backbone_at_coco_size(name, dtype, size):
    eca, plain = BACKBONES[name]
    torch.manual_seed(0)
    x = torch.randn(1, 3, *size)
    error = relative_error(*run_both(eca(), x, dtype))
    torch.manual_seed(0)
    plain_error = relative_error(*run_both(plain(), x, dtype))
    assert error <= 2 * plain_error, (
        f'{name} {dtype}: {error:.2e}, without ECA {plain_error:.2e}')
    if 'ResNet' in name:
        assert error <= RESNET_TOL[dtype], f'{name} {dtype}: {error:.2e}'


@pytest.mark.parametrize('dtype', DTYPES, ids=['fp16', 'bf16'])
def test_traced_backbone_at_coco_size(dtype):
    torch.manual_seed(0)
    model = _resnet(ECAResNet)
    x = torch.randn(1, 3, 800, 1344)
    with torch.no_grad():
        high = model(x.to(dtype).float())
        model.to(dtype)
        traced = torch.jit.trace(model, x[..., :64, :64].to(dtype))
        low = traced(x.to(dtype))
    assert relative_error(low, high) <= RESNET_TOL[dtype]
