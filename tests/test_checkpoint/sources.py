"""Stand-ins for the files users convert, built from the reference models.

Built once per process (the models are only read), since several test
modules convert the same ones.
"""
import functools

import torch
from mmdet.models.backbones import ResNet

from reference_mobilenet import RefECAMobileNetV2
from reference_models import RefECAResNet, official_checkpoint, randomize
from test_checkpoint.reference_timm import RefTimmECAResNetD

# per-stage kernel sizes of the released eca_resnet{depth}_k* files
OFFICIAL_K = {
    18: (3, 5, 7, 7),
    34: (3, 3, 5, 7),
    50: (3, 5, 5, 7),
    101: (3, 3, 5, 7),
    152: (3, 3, 5, 7),
}


def _random(cls, *args, **kwargs):
    """``cls(*args, **kwargs)`` with random weights, skipping its init.

    randomize() overwrites every tensor anyway, and PyTorch's default
    init of a ResNet-152 costs seconds here.
    """
    with torch.device('meta'):
        model = cls(*args, **kwargs)
    model.to_empty(device='cpu')
    for name, buf in model.named_buffers():
        if name.endswith('num_batches_tracked'):
            buf.zero_()
    return randomize(model).eval()


@functools.lru_cache(maxsize=None)
def official_resnet(depth):
    return _random(RefECAResNet, depth, OFFICIAL_K[depth])


@functools.lru_cache(maxsize=None)
def official_mobilenet_v2():
    return _random(RefECAMobileNetV2)


@functools.lru_cache(maxsize=None)
def timm_resnet_d(depth=50, stem=(32, 32)):
    return _random(RefTimmECAResNetD, depth, stem=stem)


def plain_resnet_state_dict(depth=18):
    """A torchvision-style ResNet without ECA (mmdet's ResNet + an fc)."""
    state = dict(ResNet(depth=depth).state_dict())
    width = 512 if depth < 50 else 2048
    state.update({'fc.weight': torch.zeros(1000, width),
                  'fc.bias': torch.zeros(1000)})
    return state


def save(obj, path):
    torch.save(obj, path)
    return str(path)


def official_file(path, depth=50):
    """``path`` holding what eca_resnet{depth}_k*.pth.tar holds."""
    return save(official_checkpoint(official_resnet(depth)), path)


def assert_same_features(outs, expected):
    assert len(outs) == len(expected)
    for out, exp in zip(outs, expected):
        torch.testing.assert_close(
            out, exp, rtol=1e-4, atol=1e-4 * float(exp.abs().max()))
