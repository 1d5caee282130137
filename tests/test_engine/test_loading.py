"""How a state dict fails to fit a model, in one phrase."""
import pytest
import torch
from torch import nn

from mmdet_eca.engine import load_weights, misfit
from mmdet_eca.errors import CheckpointError


def model():
    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))


def test_a_fitting_state_dict_loads_strictly():
    source = model()
    target = model()
    load_weights(target, {'state_dict': source.state_dict()}, 'a.pth')
    assert torch.equal(target[0].weight, source[0].weight)


def test_missing_and_extra_weights():
    state = model().state_dict()
    assert misfit(model(), state) is None
    del state['1.running_var']
    assert misfit(model(), state) == (
        "it lacks 1 of the model's 7 weights, first '1.running_var'; was it "
        'trained with another config?')
    state = dict(model().state_dict(), **{'2.weight': torch.ones(1)})
    assert misfit(model(), state) == (
        "it has 1 weight the model lacks, first '2.weight'; was it trained "
        'with another config?')
    with pytest.raises(CheckpointError, match="^b.pth: does not fit the "
                       "model: it has 1 weight the model lacks"):
        load_weights(model(), {'state_dict': state}, 'b.pth')


def test_non_strict_loading_skips_mismatches_but_not_everything():
    state = model().state_dict()
    state['0.weight'] = torch.zeros(8, 3, 1, 1)  # another number of classes
    target = model()
    load_weights(target, {'state_dict': state}, 'c.pth', strict=False)
    assert torch.equal(target[0].bias, state['0.bias'])
    with pytest.raises(CheckpointError, match='they share no weight'):
        load_weights(model(), {'x.weight': torch.ones(1)}, 'd.pth',
                     strict=False)


def test_module_prefix_is_stripped():
    state = {f'module.{k}': v for k, v in model().state_dict().items()}
    load_weights(model(), {'state_dict': state}, 'e.pth')
