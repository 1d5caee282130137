"""Every backbone loads its own weights, over a grid of its arguments.

A refusal of foreign checkpoints must not catch a model's own: the
tiered-stem check once took any ResNet-D stem not 32 wide for timm's
tiered one, so ``ECAResNetV1d(stem_channels=32)`` (or ``base_channels=4``)
could not load what it saved. Widths stay small to keep the grid cheap.
"""
import pytest
import torch

from mmdet_eca.backbones import (ECAEfficientNet, ECAMobileNetV2, ECAResNet,
                                 ECAResNetV1d)

RESNETS = [
    dict(depth=18, base_channels=4),
    dict(depth=18, base_channels=8, eca_kernel_sizes='1357'),
    dict(depth=50, base_channels=4),
    dict(depth=50, base_channels=8, eca_kernel_sizes='adaptive'),
    dict(depth=18, stem_channels=16, base_channels=4),
    dict(depth=50, stem_channels=128, base_channels=4),
]
# ResNet-D: the stem is s/2-s/2-s for stem_channels s (base_channels when
# unset); 64 gives timm's 32-32-64
V1D = [
    dict(depth=depth, stem_channels=stem, base_channels=base)
    for depth in (18, 50) for stem in (None, 16, 32, 64, 128)
    for base in (4, 8)
] + [
    dict(depth=18),  # base_channels 64, stem 32-32-64
    dict(depth=50, base_channels=4, eca_kernel_sizes='3333'),
    dict(depth=18, stem_channels=32, base_channels=8,
         eca_kernel_sizes='5557'),
]
MOBILENETS = [
    dict(widen_factor=0.25),
    dict(widen_factor=0.5, eca_kernel_sizes='adaptive'),
    dict(widen_factor=0.25, eca_kernel_sizes='3333333'),
]
EFFICIENTNETS = [
    dict(arch='b0', out_indices=(2, 3)),
    dict(arch='b0', out_indices=(2, 3), eca_kernel_sizes=3),
    dict(arch='es', out_indices=(2, 3)),
]


def _id(kwargs):
    return ','.join(f'{k}={v}' for k, v in kwargs.items())


def round_trip(cls, kwargs):
    """Load a model's state dict into a fresh model of the same arguments,
    strictly, and check every tensor arrived."""
    torch.manual_seed(0)
    source = cls(**kwargs)
    torch.manual_seed(1)
    target = cls(**kwargs)
    state = source.state_dict()
    result = target.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for key, value in target.state_dict().items():
        assert torch.equal(value, state[key]), key


@pytest.mark.parametrize('kwargs', RESNETS, ids=_id)
def test_eca_resnet_loads_its_own_weights(kwargs):
    round_trip(ECAResNet, kwargs)


@pytest.mark.parametrize('kwargs', V1D, ids=_id)
def test_eca_resnet_v1d_loads_its_own_weights(kwargs):
    round_trip(ECAResNetV1d, kwargs)


@pytest.mark.parametrize('kwargs', MOBILENETS, ids=_id)
def test_eca_mobilenet_v2_loads_its_own_weights(kwargs):
    round_trip(ECAMobileNetV2, kwargs)


@pytest.mark.parametrize('kwargs', EFFICIENTNETS, ids=_id)
def test_eca_efficientnet_loads_its_own_weights(kwargs):
    round_trip(ECAEfficientNet, kwargs)


def test_the_issue_cases_load():
    # the two models of the report, at the sizes it gave
    round_trip(ECAResNetV1d, dict(depth=50, base_channels=4))
    round_trip(ECAResNetV1d, dict(depth=18, stem_channels=32))


def _with_stem(state, widths):
    """``state`` with its deep stem's convs (and their norms) resized to
    ``widths``, as timm's tiered ecaresnet26t/50t has them."""
    state = dict(state)
    in_channels = 3
    for conv, norm, width in zip(('stem.0', 'stem.3', 'stem.6'),
                                 ('stem.1', 'stem.4', 'stem.7'), widths):
        state[f'{conv}.weight'] = torch.zeros(width, in_channels, 3, 3)
        for name in ('weight', 'bias', 'running_mean', 'running_var'):
            state[f'{norm}.{name}'] = torch.zeros(width)
        in_channels = width
    return state


def test_timm_tiered_stem_is_refused_with_its_widths():
    model = ECAResNetV1d(depth=18, base_channels=8, stem_channels=64)
    tiered = _with_stem(model.state_dict(), (24, 32, 64))
    with pytest.raises(ValueError, match=r"the checkpoint has timm's tiered "
                       r'stem \(24-32-64 channels, as ecaresnet26t/50t\)'):
        model.load_state_dict(tiered, strict=False)


def test_another_tiered_stem_is_named_with_its_own_widths():
    model = ECAResNetV1d(depth=18, base_channels=8, stem_channels=32)
    tiered = _with_stem(model.state_dict(), (8, 16, 32))
    with pytest.raises(ValueError, match=r'has a tiered stem \(8-16-32 '):
        model.load_state_dict(tiered, strict=False)


@pytest.mark.parametrize('file_stem', [16, 32, 128])
def test_a_resnet_d_stem_of_another_width_is_a_size_mismatch(file_stem):
    # not timm's tiered stem, whatever its width: strict loading (and the
    # strict-fit check of testing and resuming) reports the shapes
    model = ECAResNetV1d(depth=18, base_channels=8, stem_channels=64)
    other = _with_stem(model.state_dict(),
                       (file_stem // 2, file_stem // 2, file_stem))
    with pytest.raises(RuntimeError, match='size mismatch for stem.0.weight'):
        model.load_state_dict(other, strict=True)
