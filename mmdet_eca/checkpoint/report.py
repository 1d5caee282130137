"""The human-readable summary of a conversion (what the CLI prints)."""
from typing import Optional

from ..backbones import ECAResNet
from .convert import SOURCE_FORMATS, ConversionResult
from .efficientnet import EfficientNetSpec, format_efficientnet_report


def _architecture(result: ConversionResult) -> str:
    spec = result.spec
    if spec.depth is None:
        return f'{spec.type} (17 inverted residuals in 7 stages)'
    block, stages = ECAResNet.arch_settings[spec.depth]
    kind = 'Bottleneck' if block.expansion == 4 else 'BasicBlock'
    return (f"{spec.type}, depth {spec.depth} ({kind}, blocks "
            f"{'-'.join(map(str, stages))})")


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
        return format_efficientnet_report(
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

    if result.written:
        lines.append(f'wrote {result.written}')
    elif not result.needs_conversion:
        lines.append('nothing written: use this file as it is')
    checkpoint = checkpoint or result.written or src
    lines += [
        'config:',
        f'  {spec.config_text(checkpoint, result.prefix)},',
        f'  neck=dict(in_channels={spec.out_channels}),',
    ]
    return '\n'.join(lines)
