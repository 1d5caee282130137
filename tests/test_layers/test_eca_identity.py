"""ECA inserted into a network pretrained without it, starting as the
identity (``identity_init`` / ``eca_identity_init``): plain weights give the
plain network's outputs in every form, the gate learns, MMEngine's
initialisation keeps the start, and weights of the other gate warn."""
import contextlib
import copy
import os.path as osp
import warnings

import pytest
import torch
import torch.nn as nn
from mmdet.models.backbones import (CSPDarknet, CSPNeXt, MobileNetV2,
                                    ResNet)
from mmdet.models.necks import FPN, PAFPN
from mmdet.registry import MODELS

from mmdet_eca.backbones import (ECACSPDarknet, ECACSPNeXt, ECAEfficientNet,
                                 ECAMobileNetV2, ECAResNet)
from mmdet_eca.backbones import plain_load
from mmdet_eca.layers import ECA
from mmdet_eca.layers.eca import ECAModule
from mmdet_eca.necks import ECAFPN, ECAPAFPN


def randomise_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Nonzero, unequal norm weights and statistics: with mmdet's zero
    init of the last norm every residual branch would be zero, and any
    gate would pass the test."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=gen) + 0.5
            m.bias.data = torch.randn(n, generator=gen) * 0.1
            m.running_mean = torch.randn(n, generator=gen) * 0.1
            m.running_var = torch.rand(n, generator=gen) + 0.5
    return model


@pytest.fixture(scope='module')
def plain_r50(tmp_path_factory):
    """A random plain mmdet ResNet-50 saved as an ImageNet-style file."""
    torch.manual_seed(0)
    plain = ResNet(50)
    plain.init_weights()
    randomise_norms(plain)
    path = tmp_path_factory.mktemp('plain') / 'resnet50_plain.pth'
    torch.save(dict(state_dict=plain.state_dict()), path)
    return plain, str(path)


def assert_same_outputs(plain, model, x, train=False):
    for m in (plain, model):
        m.double()
        m.train(train)
    with torch.no_grad():
        expected, got = plain(x), model(x)
    assert len(expected) == len(got)
    for e, g in zip(expected, got):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-6)


def test_the_gate_is_exactly_one_and_the_state_dict_is_the_papers():
    eca = ECAModule(kernel_size=5, identity_init=True)
    paper = ECAModule(kernel_size=5)
    x = torch.randn(2, 16, 4, 4, dtype=torch.float64)
    eca.double()
    assert torch.equal(eca.attention(x), torch.ones(2, 16, 1, 1).double())
    assert torch.equal(eca(x), x)
    assert {k: v.shape for k, v in eca.state_dict().items()} == {
        k: v.shape for k, v in paper.state_dict().items()}
    # the paper's ECA is unchanged: sigmoid of its random weight
    y = paper.conv(x.float().mean((2, 3)).unsqueeze(1)).sigmoid()
    torch.testing.assert_close(paper.attention(x.float()).flatten(1),
                               y.flatten(1))
    assert 'identity_init=True' in repr(eca)


@pytest.mark.parametrize('norm_eval', [True, False])
def test_plain_resnet50_weights_give_the_plain_outputs(plain_r50, norm_eval):
    plain, path = plain_r50
    # ECAResNet (the fused block tail) and a stock ResNet with the ECA
    # plugin, both from the plain file through init_cfg, as a config loads
    models = [
        MODELS.build(dict(type='ECAResNet', depth=50, norm_eval=norm_eval,
                          eca_identity_init=True,
                          init_cfg=dict(type='Pretrained', checkpoint=path))),
        MODELS.build(dict(type='ResNet', depth=50, norm_eval=norm_eval,
                          plugins=[dict(cfg=dict(type=ECA,
                                                 identity_init=True),
                                        position='after_conv3')],
                          init_cfg=dict(type='Pretrained', checkpoint=path))),
    ]
    x = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    reference = copy.deepcopy(plain)
    reference.norm_eval = norm_eval
    for model in models:
        model.init_weights()
        assert all(torch.all(m.conv.weight == 0) for m in model.modules()
                   if isinstance(m, ECAModule))
        # eval: frozen statistics; train: batch statistics unless
        # norm_eval (both fused paths of ECAResNet)
        assert_same_outputs(reference, model, x, train=False)
        assert_same_outputs(copy.deepcopy(reference), model, x, train=True)


def test_the_papers_eca_from_plain_weights_is_a_damaged_network(plain_r50):
    # what the identity mode is for: the default gate halves the branches
    plain, path = plain_r50
    model = MODELS.build(dict(type='ECAResNet', depth=50,
                              init_cfg=dict(type='Pretrained',
                                            checkpoint=path)))
    model.init_weights()
    x = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    for m in (plain, model):
        m.double()
        m.eval()
    with torch.no_grad():
        diff = (plain(x)[-1] - model(x)[-1]).abs().max()
    assert diff > 1e-2


@pytest.mark.parametrize('stock,with_eca', [(FPN, ECAFPN),
                                            (PAFPN, ECAPAFPN)])
def test_stock_neck_weights_give_the_stock_outputs(stock, with_eca):
    kwargs = dict(in_channels=[16, 32, 64, 128], out_channels=32, num_outs=5)
    torch.manual_seed(0)
    plain = stock(**kwargs)
    plain.init_weights()
    # a whole-module init of the ECA neck must not undo the zero weight
    neck = with_eca(**kwargs, eca_identity_init=True,
                    init_cfg=dict(type='Normal', std=0.5, layer='Conv1d'))
    neck.init_weights()
    missing, unexpected = neck.load_state_dict(plain.state_dict(),
                                               strict=False)
    assert unexpected == [] and len(missing) == 5
    inputs = tuple(
        torch.randn(2, c, 32 // 2**i, 32 // 2**i, dtype=torch.float64)
        for i, c in enumerate(kwargs['in_channels']))
    for m in (plain, neck):
        m.double()
    with torch.no_grad():
        for e, g in zip(plain(inputs), neck(inputs)):
            torch.testing.assert_close(g, e, rtol=0, atol=1e-6)


@pytest.mark.parametrize('stock,with_eca,kwargs', [
    (MobileNetV2, ECAMobileNetV2, dict(widen_factor=0.25,
                                       out_indices=(2, 4, 7))),
    (CSPDarknet, ECACSPDarknet, dict(deepen_factor=0.33,
                                     widen_factor=0.125)),
    (CSPNeXt, ECACSPNeXt, dict(deepen_factor=0.167, widen_factor=0.125)),
])
def test_stock_backbone_weights_give_the_stock_outputs(stock, with_eca,
                                                       kwargs):
    torch.manual_seed(0)
    # RTMDet's CSPNeXt without its attention is the plain network there
    plain = stock(**kwargs, **(dict(channel_attention=False)
                               if stock is CSPNeXt else {}))
    plain.init_weights()
    randomise_norms(plain)
    model = with_eca(**kwargs, eca_identity_init=True)
    model.init_weights()
    model.load_state_dict(plain.state_dict(), strict=False)
    x = torch.rand(2, 3, 64, 64, dtype=torch.float64)
    assert_same_outputs(plain, model, x)


def test_efficientnet_starts_as_without_attention():
    # the plain EfficientNet has SE where ECA goes; the same network with
    # every ECA taken out is the reference
    torch.manual_seed(0)
    model = ECAEfficientNet('b0', out_indices=(2, 3), eca_identity_init=True)
    model.init_weights()
    randomise_norms(model)
    plain = copy.deepcopy(model)
    for block in plain.modules():
        if isinstance(getattr(block, 'eca', None), ECAModule):
            block.eca = nn.Identity()
    x = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    assert_same_outputs(plain, model, x)


@pytest.mark.parametrize('norm_eval', [True, False])
def test_the_gate_learns(norm_eval):
    torch.manual_seed(0)
    model = ECAResNet(depth=18, base_channels=8, eca_identity_init=True,
                      norm_eval=norm_eval, init_cfg=None)
    model.init_weights()
    randomise_norms(model)
    model.train()
    eca = [m for m in model.modules() if isinstance(m, ECAModule)]
    # only the gates learn here: the question is whether they move
    optimizer = torch.optim.SGD([e.conv.weight for e in eca], lr=0.1)
    x = torch.rand(4, 3, 32, 32)
    target = [torch.randn_like(o) for o in model(x)]
    for step in range(3):
        loss = sum(((o - t)**2).mean() for o, t in zip(model(x), target))
        optimizer.zero_grad()
        loss.backward()
        if step == 0:
            # the gradient reaches every ECA weight through the fused tail
            assert all(e.conv.weight.grad.abs().sum() > 0 for e in eca)
        optimizer.step()
    assert all(e.conv.weight.abs().sum() > 0 for e in eca)
    with torch.no_grad():
        gate = eca[-1].attention(torch.rand(1, eca[-1].conv.weight.shape[0]
                                            * 64, 2, 2))
    assert (gate - 1).abs().max() > 1e-4


def test_init_weights_keeps_the_zero_weight():
    model = ECAResNet(depth=18, base_channels=8, eca_identity_init=True,
                      init_cfg=dict(type='Normal', std=0.5, layer='Conv1d'))
    model.init_weights()
    weights = [m.conv.weight for m in model.modules()
               if isinstance(m, ECAModule)]
    assert len(weights) == 8 and all(torch.all(w == 0) for w in weights)
    # the paper's ECA takes the same init_cfg, which shows it reaches them
    paper = ECAResNet(depth=18, base_channels=8,
                      init_cfg=dict(type='Normal', std=0.5, layer='Conv1d'))
    paper.init_weights()
    assert all(torch.all(m.conv.weight != 0) for m in paper.modules()
               if isinstance(m, ECAModule))


def test_plain_weights_are_reported_in_one_line(plain_r50, monkeypatch):
    _, path = plain_r50
    logged = []
    monkeypatch.setattr(plain_load, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw['level'])))
    plain = torch.load(path)['state_dict']
    model = ECAResNet(depth=50, eca_identity_init=True)
    missing, _ = model.load_state_dict(plain, strict=False)
    assert missing == []
    [(message, level)] = logged
    assert message.startswith(f'ECAResNet loaded {len(plain)} tensors from '
                              'weights without ECA; its 16 ECA layers start '
                              'as the identity')
    logged.clear()
    paper = ECAResNet(depth=50, eca_kernel_sizes='adaptive')
    missing, _ = paper.load_state_dict(plain, strict=False)
    assert len(missing) == 16
    [(message, level)] = logged
    assert 'about 0.5' in message and 'eca_identity_init=True' in message
    assert level > 20  # a warning


def test_weights_of_the_other_gate_warn(tmp_path):
    identity = ECA(64, identity_init=True)
    with torch.no_grad():
        identity.conv.weight.fill_(0.1)
    path = tmp_path / 'identity.pth'
    torch.save(identity.state_dict(), path)
    saved = torch.load(path)
    # its own gate: silent, also after a save and load
    with _no_warning():
        ECA(64, identity_init=True).load_state_dict(saved)
    with pytest.warns(UserWarning, match='halves'):
        ECA(64).load_state_dict(saved)
    # the released weights carry no gate record: the paper's
    released = {'conv.weight': torch.randn(1, 1, 3)}
    with _no_warning():
        ECA(64).load_state_dict(released)
    with pytest.warns(UserWarning, match='doubles'):
        ECA(64, identity_init=True).load_state_dict(released)


@contextlib.contextmanager
def _no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        yield


def test_the_stock_faster_rcnn_config_starts_as_the_stock_backbone(
        plain_r50):
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    plain, path = plain_r50
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(
        repo, 'configs/eca_plugins/faster-rcnn_r50-eca-identity_fpn_1x_coco'
        '.py'))
    assert cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet50'
    cfg.model.backbone.init_cfg.checkpoint = path  # no downloads here
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    ecas = [m for m in detector.backbone.modules() if isinstance(m, ECA)]
    assert [e.kernel_size for e in ecas[::4][:1]] == [5] and len(ecas) == 16
    assert all(e.identity_init for e in ecas)
    x = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    assert_same_outputs(copy.deepcopy(plain), detector.backbone, x)
