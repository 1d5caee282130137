"""A backbone's Pretrained checkpoint must fill every backbone weight (but
ECA the file has none of); what came from it is one log line."""
from types import SimpleNamespace

import pytest
import torch
from mmdet.models.backbones import ResNet
from mmengine.logging import MMLogger

from mmdet_eca.backbones import ECAResNet
from mmdet_eca.engine import CheckedLoadHook, check_pretrained_backbone
from mmdet_eca.errors import CheckpointError


def save_classifier(backbone, path):
    """``backbone`` as an mmpretrain classifier checkpoint saves it."""
    state = {'backbone.' + k: v for k, v in backbone.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(2, 512)
    torch.save(dict(state_dict=state, meta=dict(epoch=1)), path)
    return str(path)


def pretrained(cls, path, prefix='backbone.', **kwargs):
    return cls(init_cfg=dict(type='Pretrained', checkpoint=path,
                             prefix=prefix), **kwargs)


def test_a_fitting_file_fills_every_weight(tmp_path):
    path = save_classifier(ECAResNet(depth=18), tmp_path / 'eca18.pth')
    backbone = pretrained(ECAResNet, path, depth=18)
    total = len(backbone.state_dict())
    assert check_pretrained_backbone(backbone) == (
        f'model.backbone.init_cfg: {path} fills all {total} weights of the '
        'ECAResNet backbone')


def test_plain_weights_leave_only_the_eca_weights(tmp_path):
    path = save_classifier(ResNet(depth=18), tmp_path / 'plain18.pth')
    for identity in (True, False):
        backbone = pretrained(ECAResNet, path, depth=18,
                              eca_identity_init=identity)
        total = len(backbone.state_dict())
        assert check_pretrained_backbone(backbone) == (
            f'model.backbone.init_cfg: {path} fills all {total - 8} weights '
            'of the ECAResNet backbone but its 8 ECA weights (none in the '
            'file)')


def test_a_file_of_a_shallower_backbone_is_refused(tmp_path):
    path = save_classifier(ResNet(depth=18), tmp_path / 'r18.pth')
    with pytest.raises(CheckpointError) as err:
        check_pretrained_backbone(pretrained(ResNet, path, depth=34))
    assert str(err.value) == (
        f"{path}: lacks 80 of the ResNet backbone's 216 weights "
        "(model.backbone.init_cfg), first 'layer1.2.conv1.weight': MMEngine "
        'would leave them at their initialisation; was it trained with '
        'another backbone config?')


def test_other_widths_are_refused(tmp_path):
    path = save_classifier(ResNet(depth=18, base_channels=32),
                           tmp_path / 'r18.pth')
    with pytest.raises(CheckpointError) as err:
        check_pretrained_backbone(pretrained(ResNet, path, depth=18))
    assert str(err.value).startswith(
        f'{path}: does not fit the backbone (model.backbone.init_cfg): '
        'conv1.weight has shape torch.Size([32, 3, 7, 7]) in the checkpoint '
        'but torch.Size([64, 3, 7, 7]) in the model (')


def test_a_prefix_that_selects_nothing_is_refused(tmp_path):
    path = save_classifier(ResNet(depth=18), tmp_path / 'r18.pth')
    with pytest.raises(CheckpointError, match=(
            r"r18.pth: has no weights under prefix 'model\.' "
            r'\(model.backbone.init_cfg.prefix\)')):
        check_pretrained_backbone(
            pretrained(ResNet, path, prefix='model', depth=18))


def test_nothing_to_check_without_a_local_file():
    assert check_pretrained_backbone(ResNet(depth=18)) is None
    remote = pretrained(ResNet, 'torchvision://resnet18', prefix=None,
                        depth=18)
    assert check_pretrained_backbone(remote) is None


def test_the_hook_reports_before_the_run_and_refuses(tmp_path):
    path = save_classifier(ResNet(depth=18), tmp_path / 'r18.pth')
    logger = MMLogger.get_instance('pretrained_check_test')
    messages = []
    logger.info = messages.append

    def runner(depth):
        model = SimpleNamespace(
            backbone=pretrained(ResNet, path, depth=depth))
        return SimpleNamespace(_has_loaded=False, _resume=False,
                               _load_from=None, model=model, logger=logger)

    CheckedLoadHook().before_run(runner(18))
    assert messages == [f'model.backbone.init_cfg: {path} fills all 120 '
                        'weights of the ResNet backbone']
    with pytest.raises(CheckpointError, match='lacks 80'):
        CheckedLoadHook().before_run(runner(34))
