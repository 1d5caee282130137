import math

import pytest
import torch

from mmdet_eca.layers import ECAModule, eca_kernel_size


def paper_eca(x, weight):
    """ECA written out from the paper, one channel at a time."""
    n, c = x.shape[:2]
    k = weight.numel()
    w = weight.flatten().tolist()
    pooled = x.mean(dim=(2, 3))  # [N, C]
    attn = torch.zeros(n, c, dtype=x.dtype)
    for i in range(c):
        for j in range(k):
            src = i + j - (k - 1) // 2
            if 0 <= src < c:  # zero padding outside the channel range
                attn[:, i] += w[j] * pooled[:, src]
    return x * torch.sigmoid(attn)[:, :, None, None]


@pytest.mark.parametrize('channels,expected', [(64, 3), (128, 5), (256, 5),
                                               (512, 5), (1024, 5),
                                               (2048, 7)])
def test_adaptive_kernel_size_table(channels, expected):
    assert eca_kernel_size(channels) == expected


def test_adaptive_kernel_size_gamma_beta():
    # t = int(|(log2(256) + 3) / 1|) = 11, already odd
    assert eca_kernel_size(256, gamma=1, beta=3) == 11
    # t = int((6 + 1) / 3) = 2 -> rounded up to odd
    assert eca_kernel_size(64, gamma=3, beta=1) == 3
    # the rule allows k = 1 for few channels: log2(2) = 1 -> t = 1
    assert eca_kernel_size(2) == 1


@pytest.mark.parametrize('k', [1, 3, 5, 7, 9])
@pytest.mark.parametrize('channels', [1, 6, 64])
def test_matches_paper_formula(k, channels):
    torch.manual_seed(k * 100 + channels)
    eca = ECAModule(kernel_size=k)
    with torch.no_grad():
        eca.conv.weight.normal_()
    x = torch.randn(2, channels, 5, 7, dtype=torch.float64)
    eca = eca.double()
    expected = paper_eca(x, eca.conv.weight)
    torch.testing.assert_close(eca(x), expected, rtol=1e-12, atol=1e-12)


def test_state_dict_layout_and_adaptive():
    eca = ECAModule(channels=2048)
    assert list(eca.state_dict()) == ['conv.weight']
    assert eca.conv.weight.shape == (1, 1, 7)
    assert eca.conv.bias is None
    assert eca.conv.padding == (3, )
    assert sum(p.numel() for p in eca.parameters()) == 7


@pytest.mark.parametrize('bad', [0, -3, 2, 4, 3.0, '3', True])
def test_rejects_invalid_kernel_size(bad):
    with pytest.raises(ValueError, match='positive odd int'):
        ECAModule(kernel_size=bad)


def test_needs_kernel_size_or_channels():
    with pytest.raises(ValueError, match='kernel_size or channels'):
        ECAModule()


def test_gradients_reach_the_conv_weight():
    eca = ECAModule(kernel_size=3)
    x = torch.randn(2, 8, 4, 4, requires_grad=True)
    eca(x).sum().backward()
    assert eca.conv.weight.grad is not None
    assert not math.isclose(eca.conv.weight.grad.abs().sum().item(), 0)
