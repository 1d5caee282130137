"""tools/convert_eca_weights.py on MMDetection 1.x detector files: the
same command as for ImageNet weights upgrades them to 3.x."""
import argparse
import os
import re
import shlex

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import load_checkpoint

from test_checkpoint.mmdet_v1_files import (ROOT, bad_file, build, detector,
                                            load_config, reference_state,
                                            save_legacy, to_v1_layout,
                                            v1_checkpoint)
from test_checkpoint.sources import official_resnet, plain_resnet_state_dict
from tool_modules import load_tool

TOOL = os.path.join(ROOT, 'tools', 'convert_eca_weights.py')
cli = load_tool('convert_eca_weights')


@pytest.fixture(scope='module')
def mask_rcnn_v1(tmp_path_factory):
    """A 1.x Mask R-CNN ECA-50 file, as released (k 3377)."""
    state = reference_state('MaskRCNN')
    path = tmp_path_factory.mktemp('src') / (
        'mask_rcnn_ecanet50_k3377_bs8_lr0.01.pth')
    return save_legacy(v1_checkpoint(to_v1_layout(state), 'MaskRCNN'),
                       path), state


def run(argv, capsys):
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _cfg_options(command):
    """The ``--cfg-options`` of a printed command, parsed as MMEngine's
    tools parse them."""
    words = shlex.split(command)
    if '--cfg-options' not in words:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(
        words[words.index('--cfg-options'):]).cfg_options


def _printed_command(out, tool):
    return next(line.strip() for line in out.splitlines()
                if line.strip().startswith(f'python tools/{tool}.py'))


def test_mask_rcnn_is_upgraded_and_loads_with_the_printed_config(
        mask_rcnn_v1, tmp_path, capsys):
    src, state = mask_rcnn_v1
    dst = tmp_path / 'checkpoints' / 'mask_rcnn_ecanet50_k3377_mmdet.pth'
    code, out, err = run([src, str(dst)], capsys)
    assert code == 0 and err == ''
    assert out.startswith(
        f'{src}: MMDetection 1.x detector (1.0rc0+d3ca926), MaskRCNN\n')
    for line in ('kernel sizes  3377 (layer1..layer4)',
                 'upgraded      bbox_head.fc_cls: background output moved',
                 "upgraded      bbox_head.fc_reg: background's 4 rows "
                 'dropped (324 -> 320)',
                 'upgraded      mask_head.conv_logits: background channel '
                 'dropped (81 -> 80)',
                 'upgraded      rpn_head.rpn_cls: sigmoid',
                 f'wrote {dst}'):
        assert line in out, line
    test = _printed_command(out, 'test')
    config, checkpoint = shlex.split(test)[2:4]
    assert config == 'configs/legacy_1.x/mask_rcnn_ecanet50_fpn_1x_coco_v1.py'
    assert checkpoint == str(dst) and _cfg_options(test) == {}
    # the printed config's model takes the file strictly, as tools/test.py
    # loads it, and holds the weights the 1.x file was made from
    model = detector('MaskRCNN')
    assert Config.fromfile(os.path.join(ROOT, config)).model == \
        load_config('MaskRCNN').model
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    for key, value in state.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_kernel_sizes_the_config_lacks_are_printed_as_options(
        tmp_path, capsys):
    """If "k5" were not 5555 in the released Faster R-CNN ECA-50, the
    printed options make the shipped config fit the file's tensors."""
    model = build(load_config('FasterRCNN', eca_kernel_sizes='3557'))
    state = model.state_dict()
    src = save_legacy(v1_checkpoint(to_v1_layout(state), 'FasterRCNN'),
                      tmp_path / 'faster_rcnn_ecanet50_k5.pth')
    dst = tmp_path / 'faster.pth'
    code, out, _ = run([src, str(dst)], capsys)
    assert code == 0
    assert 'kernel sizes  3557 (layer1..layer4)' in out
    test = _printed_command(out, 'test')
    options = _cfg_options(test)
    assert options == {'model.backbone.eca_kernel_sizes': [3, 5, 5, 7]}
    cfg = Config.fromfile(os.path.join(ROOT, shlex.split(test)[2]))
    cfg.merge_from_dict(options)
    fitted = build(cfg)
    load_checkpoint(fitted, str(dst), map_location='cpu', strict=True)
    # and the fine-tuning command starts the 3.x-settings config from it
    train = _printed_command(out, 'train')
    assert shlex.split(train)[2] == (
        'configs/faster_rcnn_ecanet50_fpn_1x_coco.py')
    assert _cfg_options(train) == {
        'load_from': str(dst), 'model.backbone.init_cfg': None,
        'model.backbone.eca_kernel_sizes': [3, 5, 5, 7]}


def test_retinanet_without_destination_only_reports(tmp_path, capsys):
    state = reference_state('RetinaNet')
    src = save_legacy(v1_checkpoint(to_v1_layout(state), 'RetinaNet'),
                      tmp_path / 'RetinaNet_ecanet50_k3377_bs8_lr0.01.pth')
    code, out, _ = run([src], capsys)
    assert code == 0
    assert 'RetinaNet' in out.splitlines()[0]
    assert re.search(r'bbox_head\.\{cls,reg\}_convs\.N: renamed to '
                     r'ConvModule names \(\.conv\.\) \(16 tensors\)', out)
    assert 'retina_cls: sigmoid, no background output' in out
    assert 'nothing written' in out
    assert 'configs/legacy_1.x/retinanet_ecanet50_fpn_1x_coco_v1.py' in out
    assert os.listdir(tmp_path) == [os.path.basename(src)]


@pytest.mark.parametrize('kind,message', [
    ('cascade-1.x', "is an MMDetection 1.x CascadeRCNN (its config says "
     "type='CascadeRCNN'); only FasterRCNN, MaskRCNN, RetinaNet "
     'checkpoints can be upgraded'),
    ('fcos-1.x', 'has no Faster R-CNN, Mask R-CNN or RetinaNet heads'),
    ('truncated-1.x', 'is truncated or corrupted'),
])
def test_bad_1x_input_one_line_nonzero_no_output(kind, message, tmp_path,
                                                 capsys):
    src = bad_file(kind, tmp_path)
    dst = tmp_path / 'out' / 'upgraded.pth'
    code, out, err = run([src, str(dst)], capsys)
    assert code == 1 and out == ''
    assert err.count('\n') == 1
    assert err.startswith(f'error: {src}: ') and message in err
    assert not dst.parent.exists()


def _detector_3x(backbone_state, tmp_path, meta):
    state = {f'backbone.{k}': v for k, v in backbone_state.items()
             if not k.startswith('fc.')}
    state['roi_head.bbox_head.fc_cls.weight'] = torch.zeros(81, 1024)
    return save_legacy(dict(meta=meta, state_dict=state),
                       tmp_path / 'detector_3x.pth')


@pytest.mark.parametrize('meta', [
    dict(mmengine_version='0.10.7'),
    dict(mmdet_version='2.28.2'),
], ids=['3.x', '2.x'])
def test_newer_detector_files_are_never_upgraded(meta, tmp_path, capsys):
    """A 2.x/3.x detector loads into 3.x as it is: with ECA weights the
    converter says so (as for any converted file) and writes nothing;
    without, one line and exit 1."""
    dst = tmp_path / 'out.pth'
    src = _detector_3x(official_resnet(18).state_dict(), tmp_path, meta)
    code, out, err = run([src, str(dst)], capsys)
    assert code == 0 and err == ''
    assert "MMDetection detector checkpoint ('backbone.' keys)" in out
    assert 'nothing written: use this file as it is' in out
    assert 'upgraded' not in out and not dst.exists()

    src = _detector_3x(plain_resnet_state_dict(18), tmp_path, meta)
    code, out, err = run([src, str(dst)], capsys)
    assert code == 1 and out == '' and err.count('\n') == 1
    assert err.startswith(f'error: {src}: ') and 'has no ECA weights' in err
    assert not dst.exists()


def test_existing_destination_needs_force(mask_rcnn_v1, tmp_path, capsys):
    src, _ = mask_rcnn_v1
    dst = tmp_path / 'out.pth'
    dst.write_bytes(b'keep')
    code, out, err = run([src, str(dst)], capsys)
    assert code == 1 and out == ''
    assert err == f'error: {dst}: already exists (overwrite it with ' \
        '--force)\n'
    assert dst.read_bytes() == b'keep'
    code, out, _ = run([src, str(dst), '--force'], capsys)
    assert code == 0 and f'wrote {dst}' in out
    assert torch.load(dst, weights_only=True)['meta']['detector'] == \
        'MaskRCNN'
