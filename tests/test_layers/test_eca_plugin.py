"""The ECA plugin layer as mmcv's build_plugin_layer builds it."""
import pytest
import torch
from mmcv.cnn import build_plugin_layer
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope

from mmdet_eca.layers import ECA, ECAModule, eca_plugins


@pytest.fixture(autouse=True)
def mmdet_scope():
    # what a Runner (or MMDetection's tools) sets before building a model
    init_default_scope('mmdet')


def test_registered_and_built_by_name_with_the_slot_width():
    assert MODELS.get('ECA') is ECA
    name, layer = build_plugin_layer(
        dict(type='ECA'), postfix='', in_channels=2048)
    # the attribute name of the released weights: layerX.Y.eca.conv.weight
    assert name == 'eca'
    assert isinstance(layer, ECAModule)
    assert layer.kernel_size == 7  # the paper's adaptive k for 2048
    assert list(layer.state_dict()) == ['conv.weight']
    assert layer.conv.weight.shape == (1, 1, 7)


@pytest.mark.parametrize('channels,k', [(64, 3), (256, 5), (1024, 5),
                                        (2048, 7)])
def test_adaptive_k_from_in_channels(channels, k):
    assert ECA(channels).kernel_size == k


def test_fixed_kernel_size_gamma_beta_and_postfix():
    name, layer = build_plugin_layer(
        dict(type='ECA', kernel_size=9), postfix='2', in_channels=64)
    assert (name, layer.kernel_size) == ('eca2', 9)
    # log2(64) + 1 = 7 with gamma 1
    assert ECA(64, gamma=1).kernel_size == 7
    with pytest.raises(ValueError, match='odd'):
        ECA(64, kernel_size=4)
    assert 'in_channels=64, kernel_size=3' in repr(ECA(64))


def test_forward_is_the_paper_formulation():
    torch.manual_seed(0)
    layer = ECA(16, kernel_size=3)
    x = torch.randn(2, 16, 5, 7, dtype=torch.float64)
    layer.double()
    pooled = x.mean((2, 3)).unsqueeze(1)
    weights = torch.sigmoid(
        torch.nn.functional.conv1d(pooled, layer.conv.weight, padding=1))
    torch.testing.assert_close(layer(x), x * weights.squeeze(1)[..., None,
                                                                  None])


def test_eca_plugins_gives_one_masked_entry_per_stage():
    plugins = eca_plugins((3, 5, None, 7))
    assert plugins[1] == dict(cfg=dict(type='ECA', kernel_size=5, inplace=True),
                              stages=(False, True, False, False),
                              position='after_conv3')
    assert [p['cfg']['kernel_size'] for p in plugins] == [3, 5, None, 7]
    assert all(sum(p['stages']) == 1 for p in plugins)
    assert [p['stages'].index(True) for p in plugins] == [0, 1, 2, 3]
