"""SE EfficientNet ImageNet weights -> ECAEfficientNet (all but the SE).

No weights can be downloaded here: the OpenMMLab files are built from
MMDetection's own EfficientNet, the timm files from a stand-in with timm's
names (reference_timm_efficientnet.py), both with random weights.
"""
import functools
import logging
import os.path as osp
from contextlib import contextmanager

import pytest
import torch
from mmdet.models.backbones import EfficientNet
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from convert_eca_weights import main as convert_main
from mmdet_eca.backbones import ECAEfficientNet
from mmdet_eca.backbones.efficientnet_keys import convert_timm_efficientnet
from mmdet_eca.checkpoint import (CheckpointError, convert,
                                  convert_state_dict, format_report)
from mmdet_eca.checkpoint.efficientnet import EfficientNetSpec
from mmdet_eca.layers import ECAModule
from reference_models import randomize
from test_checkpoint.reference_timm_efficientnet import (RefTimmEfficientNet,
                                                         SqueezeExcite)
from test_checkpoint.sources import assert_same_features, save
from tiny_runs import tiny_config

CONFIG = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'configs', 'retinanet_ecaeffb3_fpn_8xb4-crop896-1x_coco.py')

X = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
# timm's PyTorch-trained efficientnet_b*: symmetric padding, BN eps 1e-5
TIMM_SETTINGS = dict(conv_cfg=None, norm_cfg=dict(type='BN', eps=1e-5))
HEAD = ['head.fc.weight', 'head.fc.bias']


@functools.lru_cache(maxsize=None)
def timm_model(arch='b0'):
    return randomize(RefTimmEfficientNet(arch), seed=3).eval()


@functools.lru_cache(maxsize=None)
def mmdet_model(arch='b0'):
    model = EfficientNet(arch=arch, out_indices=(3, 4, 5, 6))
    randomize(model, seed=4)
    model.eval()
    return model


def openmmlab_classifier(arch='b0'):
    """What an mmpretrain EfficientNet release holds."""
    state = {f'backbone.{k}': v
             for k, v in mmdet_model(arch).state_dict().items()}
    width = mmdet_model(arch).layers[6].conv.out_channels
    state.update({'head.fc.weight': torch.randn(1000, width),
                  'head.fc.bias': torch.randn(1000)})
    return {'meta': {'mmcls_version': '0.20.1'}, 'state_dict': state}


def se_keys(model):
    return [k for k in model.state_dict() if '.se.' in k]


@contextmanager
def log_messages():
    """The messages logged to MMEngine's current logger meanwhile."""
    messages = []

    class Collect(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    logger = MMLogger.get_current_instance()
    handler = Collect(level=logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def eca_weights(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()
            if '.eca.' in n}


@pytest.mark.parametrize('arch', ['b0', 'b3'])
def test_timm_names_map_onto_mmdet_s_efficientnet(arch):
    """Renamed with its SE, a timm state dict loads into MMDetection's own
    EfficientNet strictly and computes what the timm model computes."""
    ref = timm_model(arch)
    converted, unconverted = convert_timm_efficientnet(ref.state_dict())
    assert unconverted == ['classifier.weight', 'classifier.bias']
    model = EfficientNet(arch=arch, out_indices=(3, 4, 5, 6),
                         **TIMM_SETTINGS)
    model.load_state_dict(converted, strict=True)
    model.eval()
    with torch.no_grad():
        assert_same_features(model(X), ref.features(X))


def test_timm_file_converts_and_loads_all_but_the_se(tmp_path, monkeypatch):
    ref = timm_model('b0')
    src = save(ref.state_dict(), tmp_path / 'efficientnet_b0.pth')
    result = convert(src, str(tmp_path / 'eca.pth'))
    assert result.source_format == 'timm efficientnet'
    assert result.spec == EfficientNetSpec('b0', (3, 3, 5) + (5, ) * 13)
    assert len(result.dropped) == 64 + 2
    assert result.dropped[-2:] == ['classifier.weight', 'classifier.bias']
    saved = torch.load(result.written, weights_only=True)
    assert not any('.se.' in k or '.eca.' in k for k in saved['state_dict'])
    assert saved['meta']['backbone'] == dict(type='ECAEfficientNet',
                                             arch='b0')
    model = ECAEfficientNet(out_indices=(3, 4, 5, 6), **TIMM_SETTINGS)
    before = eca_weights(model)
    incompatible = model.load_state_dict(saved['state_dict'], strict=False)
    assert incompatible.missing_keys == []
    assert incompatible.unexpected_keys == []
    after = eca_weights(model)
    assert after.keys() == before.keys() and len(after) == 16
    assert all(torch.equal(before[k], after[k]) for k in before)
    # the rest is the timm model: equal features with the attention of
    # both taken out
    model.eval()
    identity = lambda self, x: x  # noqa: E731
    monkeypatch.setattr(ECAModule, 'forward', identity)
    # the form folded into the projection conv scales by the attention
    monkeypatch.setattr(ECAModule, 'attention',
                        lambda self, x: x.new_ones(x.shape[:2] + (1, 1)))
    monkeypatch.setattr(SqueezeExcite, 'forward', identity)
    with torch.no_grad():
        assert_same_features(model(X), ref.features(X))


def test_openmmlab_classifier_converts_everything_but_se_and_head(
        tmp_path, capsys):
    src = save(openmmlab_classifier('b0'), tmp_path / 'effb0_in1k.pth')
    dst = tmp_path / 'out' / 'effb0_eca.pth'
    assert convert_main([src, str(dst)]) == 0
    report = capsys.readouterr().out
    saved = torch.load(dst, weights_only=True)
    source = mmdet_model('b0').state_dict()
    expected = {k: v for k, v in source.items() if '.se.' not in k}
    assert saved['state_dict'].keys() == expected.keys()
    assert all(torch.equal(saved['state_dict'][k], v)
               for k, v in expected.items())
    assert saved['meta']['dropped_keys'] == se_keys(mmdet_model()) + HEAD
    # the report names exactly the SE tensors left out, and the ECA init
    assert 'OpenMMLab EfficientNet with SE' in report
    assert ('64 SE tensors: se.conv1.conv.{bias,weight}, '
            'se.conv2.conv.{bias,weight} of blocks layers.1.0, '
            'layers.2.0-1, layers.3.0-1, layers.4.0-5, layers.5.0-4'
            ) in report
    assert 'not the backbone: head.fc.weight, head.fc.bias' in report
    assert ('the 16 ECA layers start from their initialisation') in report
    assert ("backbone=dict(type='ECAEfficientNet', arch='b0', "
            'out_indices=(3, 4, 5), init_cfg=') in report
    assert 'neck=dict(in_channels=[40, 112, 320])' in report


def test_init_cfg_loads_the_unconverted_classifier_with_one_log_line(
        tmp_path):
    """MMDetection's EfficientNet configs load the OpenMMLab release with
    prefix='backbone'; the same init_cfg on ECAEfficientNet takes all but
    the SE and says so in one line."""
    src = save(openmmlab_classifier('b0'), tmp_path / 'effb0_in1k.pth')
    model = ECAEfficientNet(
        out_indices=(3, 4, 5),
        init_cfg=dict(type='Pretrained', checkpoint=src, prefix='backbone'))
    before = eca_weights(model)
    with log_messages() as messages:
        model.init_weights()
    notes = [m for m in messages if 'keep their initialisation' in m]
    assert len(notes) == 1, messages
    assert notes[0].startswith(
        'ECAEfficientNet loaded SE EfficientNet weights: left out 64 SE '
        'tensors: se.conv1.conv.{bias,weight}')
    assert ('; 6 tensors of layers.6 (not built with out_indices=(3, 4, '
            '5)); its 16 ECA layers keep their initialisation') in notes[0]
    assert not any('missing key' in m or 'unexpected key' in m
                   for m in messages)
    source = mmdet_model('b0').state_dict()
    for key, value in model.state_dict().items():
        if '.eca.' in key:
            assert torch.equal(value, before[key])
        else:
            assert torch.equal(value, source[key]), key


def test_init_cfg_loads_a_timm_file_without_prefix(tmp_path):
    ref = timm_model('b0')
    src = save(ref.state_dict(), tmp_path / 'efficientnet_b0.pth')
    model = ECAEfficientNet(
        out_indices=(3, 4, 5, 6),
        init_cfg=dict(type='Pretrained', checkpoint=src),
        **TIMM_SETTINGS)
    with log_messages() as messages:
        model.init_weights()
    notes = [m for m in messages if 'keep their initialisation' in m]
    assert len(notes) == 1 and notes[0].startswith(
        'ECAEfficientNet loaded timm EfficientNet weights: left out 64 SE')
    assert 'the classifier (classifier.weight, classifier.bias)' in notes[0]
    assert not any('missing key' in m or 'unexpected key' in m
                   for m in messages)
    assert torch.equal(model.layers[0].conv.weight, ref.conv_stem.weight)
    assert torch.equal(model.layers[5][4].linear_conv.bn.running_var,
                       ref.blocks[6][0].bn3.running_var)


def test_a_detector_s_se_backbone_is_adapted_inside_the_detector():
    """load_from a stock SE detector: SE left out, one line, ECA kept."""
    detector = torch.nn.Module()
    detector.backbone = ECAEfficientNet(out_indices=(3, 4, 5))
    state = {f'backbone.{k}': v for k, v in mmdet_model().state_dict().items()
             if not k.startswith('layers.6')}
    with log_messages() as messages:
        incompatible = detector.load_state_dict(state, strict=True)
    assert not incompatible.missing_keys
    notes = [m for m in messages if 'keep their initialisation' in m]
    assert len(notes) == 1
    assert "weights into 'backbone': left out 64 SE" in notes[0]


def test_missing_eca_weights_of_a_detector_are_not_hidden():
    """A detector checkpoint without attention of any kind is not taken
    for SE weights: its missing ECA weights are reported as usual."""
    detector = torch.nn.Module()
    detector.backbone = ECAEfficientNet(out_indices=(6, ))
    state = {f'backbone.{k}': v for k, v in
             detector.backbone.state_dict().items() if '.eca.' not in k}
    incompatible = detector.load_state_dict(state, strict=False)
    assert len(incompatible.missing_keys) == 16
    assert all('.eca.' in k for k in incompatible.missing_keys)


def test_foreign_weights_are_not_taken_for_an_efficientnet():
    model = ECAEfficientNet(arch='b0', out_indices=(6, ))
    with log_messages() as messages:
        incompatible = model.load_state_dict(
            {'conv1.weight': torch.zeros(1)}, strict=False)
    assert not any('initialisation' in m for m in messages)
    missing = incompatible.missing_keys
    norms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    # every parameter and BN statistic (torch does not miss the counters)
    assert len(missing) == len(list(model.parameters())) + 2 * norms
    assert sum('.eca.' in k for k in missing) == 16
    assert incompatible.unexpected_keys == ['conv1.weight']


def test_an_eca_checkpoint_loads_as_it_is():
    source = ECAEfficientNet(arch='b0')
    torch.nn.init.normal_(source.layers[5][4].eca.conv.weight)
    model = ECAEfficientNet(arch='b0')
    model.load_state_dict(source.state_dict(), strict=True)
    assert torch.equal(model.layers[5][4].eca.conv.weight,
                       source.layers[5][4].eca.conv.weight)


def test_eca_kernel_sizes_of_another_model_are_refused():
    state = ECAEfficientNet(arch='b0', eca_kernel_sizes=3).state_dict()
    with pytest.raises(ValueError, match=r"checkpoint has eca_kernel_sizes="
                       r"'3333333333333333', the model was built with "
                       r"'3355555555555555' \(first mismatch in layers.2.1\)"
                       r"; set backbone.eca_kernel_sizes='3333333333333333'"):
        ECAEfficientNet(arch='b0').load_state_dict(state)
    # a checkpoint of fewer built layers: the others are unknown
    small = ECAEfficientNet(arch='b0', eca_kernel_sizes=3,
                            out_indices=(2, )).state_dict()
    with pytest.raises(ValueError, match=r"eca_kernel_sizes='333\?{13}'"):
        ECAEfficientNet(arch='b0').load_state_dict(small, strict=False)


def test_already_converted_files_are_recognised(tmp_path):
    eca = ECAEfficientNet(arch='b0', eca_kernel_sizes=3)
    result = convert_state_dict(eca.state_dict())
    assert result.source_format == 'mmdet_eca'
    assert not result.needs_conversion and result.spec.pretrained_eca
    assert result.spec.config() == dict(
        type='ECAEfficientNet', arch='b0', eca_kernel_sizes='3' * 16)
    detector = {f'backbone.{k}': v for k, v in eca.state_dict().items()}
    detector['neck.lateral_convs.0.conv.weight'] = torch.zeros(1)
    result = convert_state_dict({'state_dict': detector, 'meta': {}})
    assert result.source_format == 'mmdet detector'
    assert result.prefix == 'backbone.' and result.dropped == []
    assert 'nothing written' in format_report(result, 'det.pth')
    assert convert(save(detector, tmp_path / 'det.pth'),
                   str(tmp_path / 'x.pth')).written is None


@pytest.mark.parametrize('arch', ['b3', 'es'])
def test_arch_is_read_from_the_tensors(arch):
    model = EfficientNet(arch=arch, out_indices=(6, ))
    result = convert_state_dict(model.state_dict())
    assert result.spec.arch == arch
    assert result.source_format == 'openmmlab efficientnet'
    assert len(result.dropped) == (4 * 26 if arch == 'b3' else 0)


def test_incomplete_or_foreign_efficientnets_are_refused():
    state = dict(mmdet_model().state_dict())
    truncated = {k: v for k, v in state.items()
                 if not k.startswith('layers.5.')}
    with pytest.raises(CheckpointError, match='matches none of MMDetection'):
        convert_state_dict(truncated)
    edge_tpu = dict(timm_model().state_dict())
    edge_tpu['blocks.0.0.conv_exp.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointError, match='only the 7 stages of '
                       'efficientnet_b0..b8'):
        convert_state_dict(edge_tpu)
    extra = dict(timm_model().state_dict())
    extra['global_pool.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointError, match="not part of a timm "
                       "EfficientNet, e.g. 'global_pool.weight'"):
        convert_state_dict(extra)


def test_retinanet_config_trains_from_converted_weights(
        shapes_data, tmp_path):
    """The shipped RetinaNet ECA-EfficientNet-B3 config, on converted SE
    weights: it builds, loads them with one log line and trains an
    iteration on a tiny generated dataset on the CPU."""
    src = save(openmmlab_classifier('b3'), tmp_path / 'effb3_in1k.pth')
    weights = convert(src, str(tmp_path / 'effb3_eca.pth')).written
    cfg = tiny_config(CONFIG, shapes_data, tmp_path / 'work')
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=weights)
    cfg.train_dataloader.batch_size = 4  # the 4 images: one iteration
    cfg.train_cfg.val_interval = 2  # no validation after the epoch
    runner = Runner.from_cfg(cfg)
    backbone = runner.model.backbone
    assert type(backbone) is ECAEfficientNet and backbone.arch_setting == (
        1.2, 1.4, 300)
    with log_messages() as messages:
        runner.train()
    assert runner.iter == 1
    notes = [m for m in messages if 'keep their initialisation' in m]
    assert notes == [
        'ECAEfficientNet loaded EfficientNet weights without attention (as '
        'converted from SE ones): left out 6 tensors of layers.6 (not built '
        'with out_indices=(3, 4, 5)); its 26 ECA layers keep their '
        'initialisation (the file has no ECA weights)']
    assert not any('missing key' in m for m in messages)
