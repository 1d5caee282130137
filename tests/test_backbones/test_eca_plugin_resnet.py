"""MMDetection's ResNet with the ECA plugin after conv3 is ECAResNet: the
same modules under the same names, the same outputs and gradients, and
each one's weights (and the official release) load into the other."""
import pytest
import torch
from mmdet.models.backbones import ResNet
from mmengine.registry import init_default_scope

from mmdet_eca.backbones import ECAResNet
from mmdet_eca.layers import ECA, eca_plugins
from reference_models import RefECAResNet, official_checkpoint, randomize

KS = (3, 5, 5, 7)


@pytest.fixture(autouse=True)
def mmdet_scope():
    # the scope a Runner sets, in which the plugin's type name resolves
    init_default_scope('mmdet')


def plugin_resnet(depth=50, ks=KS, **kwargs):
    return ResNet(depth=depth, plugins=eca_plugins(ks), **kwargs)


def randomized(model, seed=0):
    """Random weights and BN statistics, so no attention is trivial."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith(('running_mean', 'bias')):
                t.copy_(torch.rand(t.shape, generator=gen) - 0.5)
            elif t.dim() == 1:
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            else:
                t.copy_(torch.randn(t.shape, generator=gen) *
                        (2.0 / t[0].numel())**0.5)
    return model


def test_same_modules_under_the_same_names():
    eca, plugin = ECAResNet(depth=50, eca_kernel_sizes=KS), plugin_resnet()
    assert list(eca.state_dict()) == list(plugin.state_dict())
    for a, b in zip(eca.state_dict().values(), plugin.state_dict().values()):
        assert a.shape == b.shape
    for model in (eca, plugin):
        for i, k in enumerate(KS):
            for block in getattr(model, f'layer{i + 1}'):
                assert block.after_conv3_plugin_names == ['eca']
                assert type(block.eca) is ECA
                assert block.eca.kernel_size == k


@pytest.mark.parametrize('mode', ['eval', 'frozen', 'train'])
def test_same_outputs_and_gradients_float64(mode):
    # 'frozen': training with norm_eval=True, as MMDetection trains
    # detectors; 'train': BatchNorm with batch statistics.
    kwargs = dict(depth=50, base_channels=8, norm_eval=mode == 'frozen')
    eca = randomized(ECAResNet(eca_kernel_sizes=KS, **kwargs)).double()
    plugin = plugin_resnet(**kwargs).double()
    plugin.load_state_dict(eca.state_dict(), strict=True)
    for model in (eca, plugin):
        model.train(mode != 'eval')
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    x_eca, x_plugin = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_eca, out_plugin = eca(x_eca), plugin(x_plugin)
    for a, b in zip(out_eca, out_plugin):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    weights = [torch.randn_like(o) for o in out_eca]
    sum((o * w).sum() for o, w in zip(out_eca, weights)).backward()
    sum((o * w).sum() for o, w in zip(out_plugin, weights)).backward()
    torch.testing.assert_close(x_eca.grad, x_plugin.grad, rtol=1e-9,
                               atol=1e-9)
    grads = dict(plugin.named_parameters())
    for name, p in eca.named_parameters():
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, grads[name].grad, rtol=1e-9,
                                   atol=1e-9, msg=name)
    buffers = dict(plugin.named_buffers())
    for name, b in eca.named_buffers():
        torch.testing.assert_close(b, buffers[name], msg=name)


def test_weights_round_trip(tmp_path):
    eca = randomized(ECAResNet(depth=50, eca_kernel_sizes=KS))
    plugin = plugin_resnet()
    plugin.load_state_dict(eca.state_dict(), strict=True)
    back = ECAResNet(depth=50, eca_kernel_sizes=KS)
    back.load_state_dict(plugin.state_dict(), strict=True)
    for key, value in eca.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    # and through a checkpoint file, as a detector config loads it
    path = tmp_path / 'plugin_resnet50.pth'
    torch.save({'state_dict': plugin.state_dict()}, path)
    again = ECAResNet(depth=50, eca_kernel_sizes=KS,
                      init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    again.init_weights()
    for key, value in eca.state_dict().items():
        assert torch.equal(again.state_dict()[key], value), key


def test_official_checkpoint_loads_into_the_plugin_form(tmp_path):
    # eca_resnet50_k3557.pth.tar as released: 'module.' prefix, fc head
    ref = randomize(RefECAResNet(50, list(KS))).eval()
    path = tmp_path / 'eca_resnet50_k3557.pth.tar'
    torch.save(official_checkpoint(ref), path)
    plugin = plugin_resnet(
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    plugin.init_weights()
    plugin.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for out, expected in zip(plugin(x), ref.features(x)):
            torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_resnet_d_with_the_plugin_is_ecaresnetv1d():
    # both default to the adaptive k of 256..2048 channels: 5, 5, 5, 7
    from mmdet.models.backbones import ResNetV1d
    from mmdet_eca.backbones import ECAResNetV1d
    eca = randomized(ECAResNetV1d(depth=50, base_channels=8)).double()
    plugin = ResNetV1d(depth=50, base_channels=8,
                       plugins=[dict(cfg=dict(type='ECA'),
                                     position='after_conv3')]).double()
    plugin.load_state_dict(eca.state_dict(), strict=True)
    for model in (eca, plugin):
        model.eval()
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        for a, b in zip(eca(x), plugin(x)):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
