"""What the converter prints for an upgraded 1.x detector: what it found,
what it did, and the config and commands that use the result."""
from typing import List

from .mmdet_v1 import SOURCE_FORMAT, DetectorUpgrade

# Kernel sizes of the released detectors (github.com/BangguWu/ECANet),
# which the configs in configs/legacy_1.x/ are built with. "k5" (Faster
# R-CNN ECA-50) is one k for all four stages, as the release's code takes
# its k_size argument.
RELEASED_KERNEL_SIZES = {
    ('FasterRCNN', 50): '5555',
    ('FasterRCNN', 101): '3357',
    ('MaskRCNN', 50): '3377',
    ('MaskRCNN', 101): '3357',
    ('RetinaNet', 50): '3377',
    ('RetinaNet', 101): '3357',
}


def _kernel_sizes_option(result: DetectorUpgrade) -> str:
    # a list: MMEngine's --cfg-options would read '3377' as an int
    sizes = ','.join(map(str, result.spec.eca_kernel_sizes))
    return f'model.backbone.eca_kernel_sizes=[{sizes}]'


def _depth_options(result: DetectorUpgrade) -> List[str]:
    spec = result.spec
    if spec.depth == result.config_depth:
        return []
    options = [f'model.backbone.depth={spec.depth}']
    if spec.depth < 50:  # BasicBlocks: 4x narrower outputs
        widths = ','.join(map(str, spec.out_channels))
        options.append(f'model.neck.in_channels=[{widths}]')
    return options


def config_options(result: DetectorUpgrade) -> List[str]:
    """``--cfg-options`` that fit ``result.config`` to the upgraded file.

    None for the released files; a depth (and the FPN widths it needs),
    kernel sizes, class count or class-agnostic head the config was not
    written for each add one.

    Args:
        result (DetectorUpgrade): From :func:`convert_mmdet_v1`.

    Returns:
        list[str]: ``key=value`` items.
    """
    spec = result.spec
    options = _depth_options(result)
    released = RELEASED_KERNEL_SIZES[(result.detector, result.config_depth)]
    if spec.kernel_sizes_str != released:
        options.append(_kernel_sizes_option(result))
    if result.detector == 'RetinaNet':
        heads = ['model.bbox_head']
    else:
        heads = ['model.roi_head.bbox_head']
        if result.detector == 'MaskRCNN':
            heads.append('model.roi_head.mask_head')
    if result.num_classes != 80:
        options += [f'{h}.num_classes={result.num_classes}' for h in heads]
    state = result.state_dict
    fc_reg = state.get('roi_head.bbox_head.fc_reg.weight')
    if fc_reg is not None and fc_reg.shape[0] == 4:
        options.append('model.roi_head.bbox_head.reg_class_agnostic=True')
    logits = state.get('roi_head.mask_head.conv_logits.weight')
    if logits is not None and logits.shape[0] == 1:
        options.append('model.roi_head.mask_head.class_agnostic=True')
    return options


def fine_tune_options(result: DetectorUpgrade, checkpoint: str) -> List[str]:
    """``--cfg-options`` that start ``result.modern_config`` from the
    upgraded ``checkpoint`` (its backbone needs no ImageNet weights)."""
    return [
        f'load_from={checkpoint}', 'model.backbone.init_cfg=None',
        _kernel_sizes_option(result)
    ] + _depth_options(result)


def _shell(options: List[str]) -> str:
    # quoted where brackets would be glob patterns to the shell
    return ' '.join(f'"{o}"' if '[' in o else o for o in options)


def format_upgrade_report(result: DetectorUpgrade, src: str) -> str:
    """What was found in ``src``, what was done, and how to use the result.

    Args:
        result (DetectorUpgrade): From :func:`convert_mmdet_v1`.
        src (str): The source path, as the user gave it.

    Returns:
        str: Several lines, no trailing newline.
    """
    spec = result.spec
    version = result.mmdet_version or 'version not recorded'
    lines = [
        f'{src}: {SOURCE_FORMAT} ({version}), {result.detector}',
        f'  backbone      {spec.type}, depth {spec.depth}',
        f'  kernel sizes  {spec.kernel_sizes_str} (layer1..layer4)',
        f'  classes       {result.num_classes}',
    ]
    lines += [f'  upgraded      {change}' for change in result.changes]
    lines += [f'  note          {note}' for note in result.notes]
    if result.written:
        lines.append(f'wrote {result.written}')
    else:
        lines.append('nothing written (give a destination to write the '
                     'upgraded checkpoint)')
    checkpoint = result.written or '<upgraded.pth>'
    test = f'python tools/test.py {result.config} {checkpoint}'
    options = config_options(result)
    if options:
        test += f' --cfg-options {_shell(options)}'
    lines += [
        'config (the 1.x inference settings):',
        f'  {result.config}',
        'test:',
        f'  {test}',
        'fine-tune with the 3.x settings:',
        f'  python tools/train.py {result.modern_config} --cfg-options '
        f'{_shell(fine_tune_options(result, checkpoint))}',
    ]
    return '\n'.join(lines)
