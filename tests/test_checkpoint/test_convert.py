"""convert(src, dst): formats, already-converted files, bad input."""
import os

import pytest
import torch

from mmdet_eca.backbones import ECAResNet
from mmdet_eca.checkpoint import (CheckpointError, convert, format_report,
                                  inspect_checkpoint)
from test_checkpoint.sources import (official_file, official_resnet,
                                     plain_resnet_state_dict, save)


@pytest.fixture
def official(tmp_path):
    return official_file(tmp_path / 'eca_resnet18_k3577.pth.tar', depth=18)


def test_meta_records_what_was_found(official, tmp_path):
    dst = str(tmp_path / 'eca_resnet18_mmdet.pth')
    result = convert(official, dst)
    assert result.written == dst
    saved = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(saved) == {'state_dict', 'meta'}
    meta = saved['meta']
    assert meta['depth'] == 18
    assert meta['eca_kernel_sizes'] == '3577'
    assert meta['backbone'] == dict(
        type='ECAResNet', depth=18, eca_kernel_sizes='3577')
    assert meta['source'] == 'eca_resnet18_k3577.pth.tar'
    assert meta['source_format'] == 'official'
    assert meta['converted_by'].startswith('mmdet_eca ')
    assert meta['dropped_keys'] == ['fc.weight', 'fc.bias']
    assert not any(k.startswith(('module.', 'fc.'))
                   for k in saved['state_dict'])


def test_report(official, tmp_path):
    dst = str(tmp_path / 'out.pth')
    text = format_report(convert(official, dst), official)
    lines = text.splitlines()
    assert lines[0] == f'{official}: official ECA-Net release ' \
        '(github.com/BangguWu/ECANet)'
    assert 'ECAResNet, depth 18 (BasicBlock, blocks 2-2-2-2)' in text
    assert 'kernel sizes  3577 (layer1..layer4)' in text
    assert 'tensors       128 kept, 2 dropped (fc.weight, fc.bias)' in text
    assert "'arch' field says 'se_resnet50'; ignored" in text
    assert f'wrote {dst}' in lines
    assert ("  backbone=dict(type='ECAResNet', depth=18, eca_kernel_sizes="
            f"'3577', init_cfg=dict(type='Pretrained', checkpoint='{dst}')),"
            ) in lines
    assert '  neck=dict(in_channels=[64, 128, 256, 512]),' in lines


def test_converted_file_is_recognised_not_rewritten(official, tmp_path):
    converted = convert(official, str(tmp_path / 'converted.pth')).written
    before = open(converted, 'rb').read()
    again = tmp_path / 'again.pth'
    result = convert(converted, str(again))
    assert result.source_format == 'mmdet_eca'
    assert result.written is None and not again.exists()
    assert result.spec.depth == 18 and result.spec.kernel_sizes_str == '3577'
    assert any('written by mmdet_eca' in note for note in result.notes)
    assert open(converted, 'rb').read() == before
    assert 'nothing written: use this file as it is' in format_report(
        result, converted)


def test_detector_checkpoint_is_recognised(tmp_path):
    backbone = official_resnet(18).state_dict()
    state = {f'backbone.{k}': v for k, v in backbone.items() if 'fc' not in k}
    state['neck.lateral_convs.0.conv.weight'] = torch.zeros(256, 64, 1, 1)
    state['bbox_head.retina_cls.weight'] = torch.zeros(720, 256, 3, 3)
    path = save({'state_dict': state, 'meta': {'epoch': 12}},
                tmp_path / 'retinanet.pth')
    result = convert(path, str(tmp_path / 'out.pth'))
    assert result.source_format == 'mmdet detector'
    assert result.written is None
    assert not (tmp_path / 'out.pth').exists()
    assert result.prefix == 'backbone.'
    assert len(result.state_dict) == len(backbone) - 2
    text = format_report(result, path)
    assert f"checkpoint='{path}', prefix='backbone.'))" in text
    # and what the report advises works
    model = ECAResNet(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'))
    model.init_weights()
    assert torch.equal(model.layer4[1].eca.conv.weight,
                       backbone['layer4.1.eca.conv.weight'])


def _bad_checkpoint(kind):
    if kind == 'plain-resnet':
        return {'state_dict': plain_resnet_state_dict(18), 'epoch': 90}
    if kind == 'random-dict':
        return {'foo': torch.zeros(3), 'bar.weight': torch.zeros(2)}
    if kind == 'no-tensors':
        return {'epoch': 3, 'arch': 'eca_resnet50'}
    if kind == 'list':
        return [torch.zeros(1)]
    if kind == 'foreign-keys':
        state = dict(official_resnet(18).state_dict())
        state['layer1.0.se.fc1.weight'] = torch.zeros(4, 64, 1, 1)
        return state
    if kind == 'unknown-depth':
        return {
            k: v
            for k, v in official_resnet(18).state_dict().items()
            if not k.startswith('layer4.1.')
        }
    raise ValueError(kind)


@pytest.mark.parametrize('kind,message', [
    ('plain-resnet', r"has no ECA weights \('layerX.Y.eca.conv.weight'\): "
     'it looks like a plain ResNet-18 .* starting as the identity .*'
     r"backbone=dict\(type='ECAResNet', depth=18, eca_kernel_sizes="
     "'adaptive', eca_identity_init=True"),
    ('random-dict', r'is not an ECA-Net checkpoint: expected official '
     "ECA-Net, timm ecaresnet\\*d or mmdet_eca weights .* found 'foo'"),
    ('no-tensors', "has no state_dict .*'epoch', 'arch'"),
    ('list', 'holds a list; expected a state_dict'),
    ('foreign-keys', r"has 1 key\(s\) that are not part of an official "
     "ECA-ResNet, e.g. 'layer1.0.se.fc1.weight'"),
    ('unknown-depth', 'BasicBlocks with 2-2-2-1 blocks per stage'),
])
def test_bad_checkpoints_raise_and_write_nothing(kind, message, tmp_path):
    src = save(_bad_checkpoint(kind), tmp_path / f'{kind}.pth')
    dst = tmp_path / 'out.pth'
    with pytest.raises(CheckpointError, match=message) as err:
        convert(src, str(dst))
    msg = str(err.value)
    assert msg.startswith(f'{src}: ') and '\n' not in msg
    assert not dst.exists()
    assert sorted(os.listdir(tmp_path)) == [f'{kind}.pth']


def test_unreadable_source_names_the_file(tmp_path):
    src = tmp_path / 'download.pth.tar'
    src.write_text('<html>404</html>')
    with pytest.raises(CheckpointError, match=f'^{src}: is not a PyTorch '
                       'checkpoint'):
        convert(str(src), str(tmp_path / 'out.pth'))
    assert not (tmp_path / 'out.pth').exists()


def test_existing_destination_needs_force(official, tmp_path):
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'keep me')
    with pytest.raises(FileExistsError, match=f'{dst}: already exists'):
        convert(official, str(dst))
    assert dst.read_bytes() == b'keep me'
    result = convert(official, str(dst), force=True)
    assert result.written == str(dst)
    assert torch.load(dst, weights_only=True)['meta']['depth'] == 18


def test_destination_must_not_be_the_source(official):
    with pytest.raises(ValueError, match='is the source file'):
        convert(official, official, force=True)


def test_inspect_only(official):
    result = inspect_checkpoint(official)
    assert result.written is None and result.needs_conversion
    # the backbones load unconverted official files, so the report points
    # the config at the source itself
    assert f"checkpoint='{official}'" in format_report(result, official)
