"""The human-readable summary of a conversion (what the CLI prints)."""
from typing import List, Optional

from ..backbones import ECAResNet
from .convert import SOURCE_FORMATS, ConversionResult
from ..backbones.efficientnet_keys import describe_se_keys, is_se_key
from .efficientnet import EfficientNetSpec


def _architecture(result: ConversionResult) -> str:
    spec = result.spec
    if spec.depth is None:
        return f'{spec.type} (17 inverted residuals in 7 stages)'
    block, stages = ECAResNet.arch_settings[spec.depth]
    kind = 'Bottleneck' if block.expansion == 4 else 'BasicBlock'
    return (f"{spec.type}, depth {spec.depth} ({kind}, blocks "
            f"{'-'.join(map(str, stages))})")


def _outcome(result: ConversionResult, src: str,
             checkpoint: Optional[str]) -> List[str]:
    """The report's last lines: what was written, and the config lines."""
    lines = []
    if result.written:
        lines.append(f'wrote {result.written}')
    elif not result.needs_conversion:
        lines.append('nothing written: use this file as it is')
    checkpoint = checkpoint or result.written or src
    return lines + [
        'config:',
        f'  {result.spec.config_text(checkpoint, result.prefix)},',
        f'  neck=dict(in_channels={result.spec.out_channels}),',
    ]


def format_report(result: ConversionResult,
                  src: str,
                  checkpoint: Optional[str] = None) -> str:
    """What was found in ``src`` and the config lines that load it.

    Args:
        result (ConversionResult): From :func:`convert` or
            :func:`inspect_checkpoint`.
        src (str): The source path, as the user gave it.
        checkpoint (str, optional): Path the config should load. Defaults
            to ``result.written``, else ``src`` (the backbones load
            unconverted official and timm files too).

    Returns:
        str: Several lines, no trailing newline.
    """
    if isinstance(result.spec, EfficientNetSpec):
        return _efficientnet_report(
            result, src, SOURCE_FORMATS[result.source_format], checkpoint)
    spec = result.spec
    num_stages = len(spec.eca_kernel_sizes)
    lines = [
        f'{src}: {SOURCE_FORMATS[result.source_format]}',
        f'  backbone      {_architecture(result)}',
        f'  kernel sizes  {spec.kernel_sizes_str} '
        f'(layer1..layer{num_stages})',
    ]
    if result.needs_conversion:
        dropped = ', '.join(result.dropped) or 'none'
        lines.append(f'  tensors       {len(result.state_dict)} kept, '
                     f'{len(result.dropped)} dropped ({dropped})')
    else:
        lines.append(f'  tensors       {len(result.state_dict)} backbone '
                     'tensors, nothing to convert')
    lines += [f'  note          {note}' for note in result.notes]
    return '\n'.join(lines + _outcome(result, src, checkpoint))


def _efficientnet_report(result: ConversionResult, src: str, source: str,
                         checkpoint: Optional[str] = None) -> str:
    """What :func:`convert_efficientnet` found, and the config lines.

    Args:
        result (ConversionResult): Of an EfficientNet.
        src (str): The source path, as the user gave it.
        source (str): The source format's description.
        checkpoint (str, optional): Path the config should load. Defaults
            to ``result.written``, else ``src``.

    Returns:
        str: Several lines, no trailing newline.
    """
    spec = result.spec
    se_keys = [k for k in result.dropped if is_se_key(k)]
    other = [k for k in result.dropped if not is_se_key(k)]
    lines = [f'{src}: {source}', f'  backbone      {spec.describe()}']
    kernels = ', '.join(map(str, spec.eca_kernel_sizes))
    if spec.pretrained_eca:
        lines.append(f'  ECA           kernel sizes {kernels} (one per block, '
                     'read from the file)')
    else:
        lines.append(f'  ECA           not in the source: the '
                     f'{len(spec.eca_kernel_sizes)} ECA layers start from '
                     'their initialisation (adaptive kernel sizes '
                     f'{kernels})')
    lines.append(f'  tensors       {len(result.state_dict)} kept, '
                 f'{len(result.dropped)} left out')
    if se_keys:
        lines.append(f'  left out      {describe_se_keys(se_keys)}')
    if other:
        shown = ', '.join(other[:4]) + (
            f', ... ({len(other)} in all)' if len(other) > 4 else '')
        lines.append(f'  left out      not the backbone: {shown}')
    lines += [f'  note          {note}' for note in result.notes]
    return '\n'.join(lines + _outcome(result, src, checkpoint))
