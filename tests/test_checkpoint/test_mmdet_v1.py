"""Upgrading MMDetection 1.x detector checkpoints (checkpoint/mmdet_v1*).

The 1.x files are written here from 3.x detectors of the legacy configs
(test_checkpoint/mmdet_v1_files.py). Besides the round trip, the classifier
checks build 1.x weights by their 1.x meaning (background at index 0,
classes 1..80) and check what the upgraded 3.x detector predicts.
"""
import os

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import load_checkpoint

from mmdet_eca.checkpoint import (CheckpointError, convert_mmdet_v1,
                                  format_upgrade_report,
                                  is_mmdet_v1_checkpoint, upgrade_checkpoint,
                                  upgrade_state_dict)
from mmdet_eca.checkpoint.mmdet_v1_report import (RELEASED_KERNEL_SIZES,
                                                  config_options,
                                                  fine_tune_options)
from test_checkpoint.mmdet_v1_files import (COCO_CLASSES, ROOT, V1_VERSION,
                                            bad_file, build, detector,
                                            load_config, one_image,
                                            reference_state, save_legacy,
                                            to_v1_layout, v1_checkpoint)

DETECTORS = ('FasterRCNN', 'MaskRCNN', 'RetinaNet')


def assert_same_state(actual, expected):
    assert list(actual) == list(expected)
    for key, value in expected.items():
        assert torch.equal(actual[key], value), key


@pytest.mark.parametrize('name', DETECTORS)
def test_upgraded_weights_equal_the_3x_model(name):
    state = reference_state(name)
    checkpoint = v1_checkpoint(to_v1_layout(state), name)
    assert is_mmdet_v1_checkpoint(checkpoint)
    result = upgrade_checkpoint(checkpoint)
    assert result.detector == name and result.num_classes == 80
    assert result.spec.depth == 50
    assert result.spec.kernel_sizes_str == (
        '5555' if name == 'FasterRCNN' else '3377')
    assert_same_state(result.state_dict, state)
    detector(name).load_state_dict(result.state_dict, strict=True)
    assert result.mmdet_version == V1_VERSION
    assert result.classes == COCO_CLASSES
    assert result.config == load_config_path(name)
    assert config_options(result) == []  # the config fits as it is


def load_config_path(name):
    stem = {'FasterRCNN': 'faster_rcnn', 'MaskRCNN': 'mask_rcnn',
            'RetinaNet': 'retinanet'}[name]
    return f'configs/legacy_1.x/{stem}_ecanet50_fpn_1x_coco_v1.py'


def test_upgraded_file_loads_as_mmengine_loads_it(tmp_path):
    state = reference_state('MaskRCNN')
    src = save_legacy(v1_checkpoint(to_v1_layout(state), 'MaskRCNN'),
                      tmp_path / 'mask_rcnn_ecanet50_k3377_bs8_lr0.01.pth')
    dst = tmp_path / 'out' / 'mask_rcnn_mmdet.pth'
    result = convert_mmdet_v1(src, str(dst))
    assert result.written == str(dst)
    # what tools/test.py does with the checkpoint: strict, no remapping
    model = detector('MaskRCNN')
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    assert_same_state(model.state_dict(), state)
    saved = torch.load(dst, weights_only=True)
    assert set(saved) == {'state_dict', 'meta'}  # no optimizer
    meta = saved['meta']
    assert meta['detector'] == 'MaskRCNN'
    assert meta['eca_kernel_sizes'] == '3377'
    assert meta['source_mmdet_version'] == V1_VERSION
    assert meta['dataset_meta'] == dict(classes=COCO_CLASSES)
    assert os.listdir(dst.parent) == [dst.name]  # no temporary left


def _two_stage_with_class(name, c, reg_c, reg_other):
    """1.x weights where 1-based class ``c`` wins every RoI and only its
    ``fc_reg`` rows give ``reg_c``; every other row gives ``reg_other``."""
    v1 = to_v1_layout(reference_state(name))
    fc_cls_b = torch.zeros(81)
    fc_cls_b[c] = 8.0  # softmax ~0.97 for c, ~3e-4 for each other
    v1['bbox_head.fc_cls.weight'] = torch.zeros(81, 1024)
    v1['bbox_head.fc_cls.bias'] = fc_cls_b
    fc_reg_b = reg_other.repeat(81)
    fc_reg_b[4 * c:4 * c + 4] = reg_c
    v1['bbox_head.fc_reg.weight'] = torch.zeros(324, 1024)
    v1['bbox_head.fc_reg.bias'] = fc_reg_b
    if name == 'MaskRCNN':
        # class c's mask covers its box, every other channel is empty
        logits_b = torch.full((81, ), -6.0)
        logits_b[c] = 6.0
        v1['mask_head.conv_logits.weight'] = torch.zeros(81, 256, 1, 1)
        v1['mask_head.conv_logits.bias'] = logits_b
    return v1


@pytest.mark.parametrize('name', ['FasterRCNN', 'MaskRCNN'])
def test_1x_class_c_becomes_3x_label_c_minus_1_with_its_box(name):
    c = 17
    reg_c = torch.tensor([0.5, -0.5, 0.3, 0.2])
    reg_other = torch.tensor([-1.0, 1.0, -0.4, 0.4])
    v1 = _two_stage_with_class(name, c, reg_c, reg_other)
    model = detector(name)
    model.load_state_dict(
        upgrade_checkpoint(v1_checkpoint(v1, name)).state_dict, strict=True)
    inputs, samples = one_image(model)
    with torch.no_grad():
        pred = model.predict(inputs, samples, rescale=True)[0].pred_instances
        proposals = model.rpn_head.predict(
            model.extract_feat(inputs), samples, rescale=False)[0].bboxes
    assert len(pred) > 0
    assert (pred.labels == c - 1).all()
    # each box is a proposal moved by class c's regression, none by another
    coder = model.roi_head.bbox_head.bbox_coder
    img_shape = samples[0].img_shape

    def decoded(delta):
        return coder.decode(proposals, delta.expand(len(proposals), 4),
                            max_shape=img_shape)

    def distance(boxes, to):
        return (boxes[:, None] - to[None]).abs().amax(-1).amin(1)

    assert (distance(pred.bboxes, decoded(reg_c)) < 1e-3).all()
    assert (distance(pred.bboxes, decoded(reg_other)) > 1e-2).any()
    if name == 'MaskRCNN':
        assert pred.masks.flatten(1).any(1).all()


def test_retinanet_sigmoid_biases_keep_their_order():
    v1 = to_v1_layout(reference_state('RetinaNet'))
    pattern = torch.linspace(-5.0, 5.0, 720)
    v1['bbox_head.retina_cls.bias'] = pattern.clone()
    result = upgrade_checkpoint(v1_checkpoint(v1, 'RetinaNet'))
    assert torch.equal(result.state_dict['bbox_head.retina_cls.bias'],
                       pattern)
    assert any('retina_cls: sigmoid' in c for c in result.changes)


def test_retinanet_sigmoid_class_k_stays_label_k():
    # 1.x sigmoid heads have no background: channel k of each anchor is
    # class k+1 in 1.x's labels, label k in 3.x's. MMDetection 2.x's
    # upgrade script rotated this bias and made it label k-1.
    k = 5
    v1 = to_v1_layout(reference_state('RetinaNet'))
    bias = torch.full((9, 80), -8.0)
    bias[:, k] = 4.0
    v1['bbox_head.retina_cls.weight'] = torch.zeros(720, 256, 3, 3)
    v1['bbox_head.retina_cls.bias'] = bias.flatten()
    model = detector('RetinaNet')
    model.load_state_dict(
        upgrade_checkpoint(v1_checkpoint(v1, 'RetinaNet')).state_dict,
        strict=True)
    inputs, samples = one_image(model)
    with torch.no_grad():
        pred = model.predict(inputs, samples, rescale=True)[0].pred_instances
    assert len(pred) > 0
    assert (pred.labels == k).all()


def test_rpn_biases_keep_their_order():
    state = reference_state('FasterRCNN')
    v1 = to_v1_layout(state)
    v1['rpn_head.rpn_cls.bias'] = torch.tensor([-1.0, 0.0, 2.0])
    upgraded, num_classes, _ = upgrade_state_dict(v1, 'FasterRCNN')
    assert num_classes == 80
    assert torch.equal(upgraded['rpn_head.rpn_cls.bias'],
                       torch.tensor([-1.0, 0.0, 2.0]))


def test_plain_retinanet_conv_names_are_renamed():
    state = reference_state('RetinaNet')
    v1 = to_v1_layout(state)
    assert 'bbox_head.cls_convs.0.weight' in v1  # the old naming
    upgraded, _, changes = upgrade_state_dict(v1, 'RetinaNet')
    assert_same_state(dict(sorted(upgraded.items())),
                      dict(sorted(state.items())))
    assert any('ConvModule' in c for c in changes)


def test_file_without_version_is_recognised_by_its_heads():
    state = reference_state('FasterRCNN')
    checkpoint = v1_checkpoint(to_v1_layout(state), 'FasterRCNN',
                               version=None)
    assert is_mmdet_v1_checkpoint(checkpoint)
    # a bare state dict with DataParallel's prefix, too
    bare = {f'module.{k}': v for k, v in checkpoint['state_dict'].items()}
    assert is_mmdet_v1_checkpoint(bare)
    result = upgrade_checkpoint(bare)
    assert_same_state(result.state_dict, state)
    assert any('mmdet_version' in n for n in result.notes)
    assert any('module.' in n for n in result.notes)
    # a 3.x two-stage detector is not 1.x
    assert not is_mmdet_v1_checkpoint({'state_dict': state})


def test_other_depth_kernel_sizes_and_classes_get_config_options():
    """A file the shipped config was not written for (a Faster R-CNN on
    ECA-ResNet-18 with 20 classes): the printed options make the config
    fit it, checked by loading it strictly."""
    cfg = load_config('FasterRCNN', depth=18, eca_kernel_sizes='3577')
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    cfg.model.roi_head.bbox_head.num_classes = 20
    state = build(cfg).state_dict()
    v1 = to_v1_layout(state)
    assert v1['bbox_head.fc_reg.weight'].shape[0] == 4 * 21
    result = upgrade_checkpoint(v1_checkpoint(v1, 'FasterRCNN'))
    options = config_options(result)
    assert options == [
        'model.backbone.depth=18',
        'model.neck.in_channels=[64,128,256,512]',
        'model.backbone.eca_kernel_sizes=[3,5,7,7]',
        'model.roi_head.bbox_head.num_classes=20',
    ]
    assert result.classes is None  # the 80 names do not fit 20 classes
    fitted = Config.fromfile(os.path.join(ROOT, result.config))
    fitted.merge_from_dict(_parse(options))
    build(fitted).load_state_dict(result.state_dict, strict=True)


def _parse(options):
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


@pytest.mark.parametrize('name', DETECTORS)
def test_fine_tune_options_fit_the_modern_config(name):
    """The upgraded detector starts a 3.x-settings config, strictly."""
    result = upgrade_checkpoint(
        v1_checkpoint(to_v1_layout(reference_state(name)), name))
    options = fine_tune_options(result, 'upgraded.pth')
    cfg = Config.fromfile(os.path.join(ROOT, result.modern_config))
    cfg.merge_from_dict(_parse(options))
    assert cfg.load_from == 'upgraded.pth'
    assert cfg.model.backbone.init_cfg is None
    # the modern config has the 3.x settings, the legacy one 1.x's
    assert 'Legacy' not in str(cfg.model)
    build(cfg).load_state_dict(result.state_dict, strict=True)


@pytest.mark.parametrize('name', DETECTORS)
@pytest.mark.parametrize('depth', [50, 101])
def test_legacy_configs_keep_1x_settings_and_released_kernel_sizes(
        name, depth):
    stem = load_config_path(name).replace('ecanet50', f'ecanet{depth}')
    cfg = Config.fromfile(os.path.join(ROOT, stem))
    backbone = cfg.model.backbone
    assert backbone.type == 'ECAResNet' and backbone.depth == depth
    assert backbone.eca_kernel_sizes == RELEASED_KERNEL_SIZES[(name, depth)]
    assert backbone.init_cfg is None  # the detector file holds it all
    assert cfg.custom_imports == dict(
        imports=['mmdet_eca'], allow_failed_imports=False)
    head = cfg.model.bbox_head if name == 'RetinaNet' else cfg.model.rpn_head
    assert head.anchor_generator.type == 'LegacyAnchorGenerator'
    assert head.anchor_generator.center_offset == 0.5
    assert head.bbox_coder.type == 'LegacyDeltaXYWHBBoxCoder'
    if name != 'RetinaNet':
        roi = cfg.model.roi_head
        assert roi.bbox_head.bbox_coder.type == 'LegacyDeltaXYWHBBoxCoder'
        assert roi.bbox_roi_extractor.roi_layer.aligned is False
        if name == 'MaskRCNN':
            assert roi.mask_roi_extractor.roi_layer.aligned is False


# --- bad input: one line naming the file, nothing written -----------------

def _bad_file(kind, tmp_path):
    if kind == 'mismatch-1.x':
        return v1_checkpoint(
            to_v1_layout(reference_state('FasterRCNN')), 'MaskRCNN')
    if kind == 'no-eca-1.x':
        return v1_checkpoint(
            {k: v for k, v in
             to_v1_layout(reference_state('FasterRCNN')).items()
             if '.eca.' not in k}, 'FasterRCNN')
    if kind == 'stray-key-1.x':
        state = to_v1_layout(reference_state('MaskRCNN'))
        state['semantic_head.conv_logits.weight'] = torch.zeros(183, 256)
        return v1_checkpoint(state, 'MaskRCNN')
    # full-size files cost seconds to write: only the small ones are files
    return bad_file(kind, tmp_path)


BAD_INPUTS = [
    ('3.x', 'saved by MMEngine 0.10.7 (MMDetection 3.x), not 1.x'),
    ('2.x', 'saved by MMDetection 2.28.2, not 1.x'),
    ('cascade-1.x', 'is an MMDetection 1.x CascadeRCNN'),
    ('fcos-1.x', 'has no Faster R-CNN, Mask R-CNN or RetinaNet heads'),
    ('truncated-1.x', 'is truncated or corrupted'),
    ('mismatch-1.x', "says type='MaskRCNN' in its config, but its tensors "
     'are a FasterRCNN'),
    ('no-eca-1.x', 'backbone: has no ECA weights'),
    ('stray-key-1.x', "e.g. 'semantic_head.conv_logits.weight'"),
]


@pytest.mark.parametrize('kind,message', BAD_INPUTS)
def test_bad_input_one_line_nothing_written(kind, message, tmp_path):
    src = _bad_file(kind, tmp_path)
    dst = tmp_path / 'out' / 'upgraded.pth'
    if isinstance(src, dict):
        with pytest.raises(CheckpointError) as error:
            upgrade_checkpoint(src)
    else:
        with pytest.raises(CheckpointError) as error:
            convert_mmdet_v1(src, str(dst))
        assert str(error.value).startswith(f'{src}: ')
        assert not dst.parent.exists()
    assert message in str(error.value)
    assert '\n' not in str(error.value)


def test_destination_is_the_source(tmp_path):
    src = _bad_file('2.x', tmp_path)
    with pytest.raises(ValueError, match='is the source file'):
        convert_mmdet_v1(src, src)


def test_report_says_what_was_done():
    state = reference_state('MaskRCNN')
    result = upgrade_checkpoint(
        v1_checkpoint(to_v1_layout(state), 'MaskRCNN'))
    text = format_upgrade_report(result, 'mask.pth')
    assert text.splitlines()[0] == (
        f'mask.pth: MMDetection 1.x detector ({V1_VERSION}), MaskRCNN')
    for line in (
            'kernel sizes  3377 (layer1..layer4)',
            'bbox_head.fc_cls: background output moved from first to last '
            '(81 outputs)',
            "bbox_head.fc_reg: background's 4 rows dropped (324 -> 320)",
            'mask_head.conv_logits: background channel dropped (81 -> 80)',
            'rpn_head.rpn_cls: sigmoid',
            'bbox_head.*, mask_head.* moved under roi_head.',
            'optimizer state left out',
            'nothing written',
            'python tools/test.py configs/legacy_1.x/'
            'mask_rcnn_ecanet50_fpn_1x_coco_v1.py <upgraded.pth>\n'):
        assert line in text + '\n', line
