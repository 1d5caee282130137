"""Export an ECA detector's backbone to ONNX and check it in onnxruntime.

Deployment tools (mmdeploy, TensorRT, onnxruntime) take a model through
``torch.onnx.export``. ECA blocks compute the paper's formulation while
they are exported (see :mod:`mmdet_eca.layers.execution_mode`), so the
exported graph holds only standard operators; :func:`export_backbone_onnx`
also runs the file in onnxruntime on an input of another size than the one
it was exported with and compares it with PyTorch, so a wrong or
shape-frozen model is caught before anyone deploys it. The file is written
under a temporary name and renamed only once it passes.

Example::

    from mmdet_eca.export import export_backbone_onnx
    result = export_backbone_onnx(
        'configs/mask_rcnn_ecanet50_fpn_1x_coco.py',
        'work_dirs/mask_rcnn/epoch_12.pth', 'ecanet50_backbone.onnx')
    print(result.max_error)

``onnx`` and ``onnxruntime`` (and ``onnxscript`` for ``dynamo=True``) are
needed only here, and imported only when used.
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from torch import Tensor, nn

from .checkpoint import load_checkpoint_file, state_dict_of
from .compat import onnx_export
from .errors import CheckpointError, ConfigError
from .fileio import commit_file, temporary_path

Shape = Tuple[int, int, int, int]

#: Input names and dynamic axes of the exported graph.
INPUT_NAME = 'input'
_DYNAMIC_AXES = {0: 'batch', 2: 'height', 3: 'width'}


@dataclass
class ExportResult:
    """What :func:`export_backbone_onnx` wrote and how well it matched.

    Args:
        path (str): The ONNX file.
        export_shape (tuple): Input shape the graph was recorded with.
        check_shape (tuple, optional): Input shape of the onnxruntime
            check, None if not checked.
        output_shapes (list[tuple]): Shapes of the outputs on that input.
        max_abs_error (float, optional): Largest absolute difference
            between onnxruntime's and PyTorch's outputs.
        max_error (float, optional): ``max_abs_error`` over the largest
            output magnitude (at least 1): the number held to the
            tolerance.
        dynamo (bool): Which exporter wrote the file.
        opset (int, optional): The file's ONNX opset (the dynamo exporter
            writes at least 18 and converts down only where it can).
    """
    path: str
    export_shape: Shape
    check_shape: Optional[Shape] = None
    output_shapes: List[Tuple[int, ...]] = field(default_factory=list)
    max_abs_error: Optional[float] = None
    max_error: Optional[float] = None
    dynamo: bool = False
    opset: Optional[int] = None


def _file_opset(path: str) -> Optional[int]:
    try:
        import onnx
    except ImportError:
        return None
    model = onnx.load(path, load_external_data=False)
    return next((o.version for o in model.opset_import
                 if o.domain in ('', 'ai.onnx')), None)


def build_backbone(config: Union[str, Config],
                   checkpoint: Optional[str] = None) -> nn.Module:
    """The backbone of a detector config, with a checkpoint's weights.

    Args:
        config (str | Config): A detector config (its ``model.backbone``
            is built) or its path. ``custom_imports`` are honoured.
        checkpoint (str, optional): A detector checkpoint (its
            ``backbone.*`` weights are used), or a backbone checkpoint
            (e.g. one written by ``tools/convert_eca_weights.py``). None
            keeps the freshly built backbone's weights. Defaults to None.

    Returns:
        nn.Module: The backbone, in eval mode.

    Raises:
        ConfigError: If the config cannot be read or has no
            ``model.backbone``.
        CheckpointError: If the checkpoint cannot be read or lacks weights
            of the backbone.
    """
    if isinstance(config, str):
        if not osp.isfile(config):
            raise ConfigError(f'{config}: no such config file')
        try:
            config = Config.fromfile(config)
        except Exception as err:  # noqa: B902  syntax, missing _base_, ...
            raise ConfigError(f'{config}: cannot be read as a config: '
                              f'{type(err).__name__}: {err}') from err
    backbone_cfg = config.get('model', {}).get('backbone')
    if not backbone_cfg:
        raise ConfigError(f'{config.filename}: has no model.backbone; '
                          'expected a detector config')
    register_all_modules(init_default_scope=True)
    backbone = MODELS.build(backbone_cfg)
    if checkpoint is not None:
        load_backbone_weights(backbone, checkpoint)
    backbone.eval()
    return backbone


def load_backbone_weights(backbone: nn.Module, checkpoint: str) -> None:
    """Load ``checkpoint``'s backbone weights into ``backbone``.

    Args:
        backbone (nn.Module): The model to fill.
        checkpoint (str): A detector checkpoint (``backbone.*`` keys) or a
            backbone checkpoint.

    Raises:
        CheckpointError: If the file cannot be read or misses any of the
            backbone's weights.
    """
    try:
        state_dict = state_dict_of(load_checkpoint_file(checkpoint))
    except CheckpointError as err:
        raise CheckpointError(f'{checkpoint}: {err}') from None
    if any(k.startswith('backbone.') for k in state_dict):
        state_dict = {
            k[len('backbone.'):]: v
            for k, v in state_dict.items() if k.startswith('backbone.')
        }
    try:
        missing, _ = backbone.load_state_dict(state_dict, strict=False)
    except (RuntimeError, ValueError) as err:  # shapes, wrong stem, ...
        first = str(err).strip().splitlines()[0]
        raise CheckpointError(f'{checkpoint}: does not fit the config\'s '
                              f'backbone: {first}') from None
    if missing:
        shown = ', '.join(missing[:3]) + (', ...' if len(missing) > 3 else '')
        raise CheckpointError(
            f'{checkpoint}: lacks {len(missing)} of the backbone\'s weights '
            f'({shown}); expected a checkpoint of this config\'s detector '
            'or backbone')


def _outputs(model: nn.Module, x: Tensor) -> List[Tensor]:
    with torch.no_grad():
        out = model(x)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _export(model: nn.Module, x: Tensor, path: str, output_names: List[str],
            opset: Optional[int], dynamo: bool) -> None:
    dynamic_axes = {INPUT_NAME: _DYNAMIC_AXES}
    dynamic_axes.update({name: _DYNAMIC_AXES for name in output_names})
    if dynamo:
        dim = torch.export.Dim.AUTO
        onnx_export(
            model, (x, ), path, dynamo=True, opset_version=opset,
            input_names=[INPUT_NAME], output_names=output_names,
            dynamic_shapes=({a: dim for a in _DYNAMIC_AXES}, ),
            external_data=False, verbose=False)
    else:
        onnx_export(
            model, (x, ), path, dynamo=False, opset_version=opset,
            input_names=[INPUT_NAME], output_names=output_names,
            dynamic_axes=dynamic_axes)


def run_onnx(path: str, x: Tensor) -> List[Tensor]:
    """Outputs of the ONNX file ``path`` on ``x`` in onnxruntime (CPU).

    Args:
        path (str): An ONNX file with one input.
        x (Tensor): The input.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError('checking the ONNX file needs onnxruntime: pip '
                          'install onnxruntime (or skip the check)') from None
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return [torch.from_numpy(o) for o in session.run(None,
                                                     {name: x.numpy()})]


def compare_outputs(actual: Sequence[Tensor],
                    expected: Sequence[Tensor]) -> Tuple[float, float]:
    """``(max absolute error, that over the largest |expected|, >= 1)``.

    Raises:
        ValueError: If the outputs differ in number or shape.
    """
    if len(actual) != len(expected):
        raise ValueError(f'{len(actual)} outputs, expected {len(expected)}')
    abs_error, scale = 0.0, 1.0
    for a, e in zip(actual, expected):
        if tuple(a.shape) != tuple(e.shape):
            raise ValueError(f'an output of shape {tuple(a.shape)}, '
                             f'expected {tuple(e.shape)}')
        abs_error = max(abs_error, (a.double() - e.double()).abs().max()
                        .item())
        scale = max(scale, e.abs().max().item())
    return abs_error, abs_error / scale


def export_backbone_onnx(config: Union[str, Config, nn.Module],
                         checkpoint: Optional[str],
                         output: str,
                         export_shape: Shape = (1, 3, 320, 320),
                         check_shape: Optional[Shape] = (2, 3, 256, 384),
                         opset: Optional[int] = None,
                         dynamo: bool = False,
                         tolerance: float = 1e-4,
                         force: bool = False) -> ExportResult:
    """Export a detector's backbone to ONNX, checked in onnxruntime.

    The graph takes ``input`` [N, 3, H, W] with N, H and W dynamic and
    returns one output per ``out_indices`` stage (``out0``, ``out1``, ...).
    The check runs it on a random input of ``check_shape`` (another size
    than the export's, so a size frozen into the graph shows) and compares
    with the PyTorch backbone.

    Args:
        config (str | Config | nn.Module): Detector config, its path, or
            a backbone already built.
        checkpoint (str, optional): Detector or backbone checkpoint; see
            :func:`build_backbone`. Ignored for an ``nn.Module``.
        output (str): The ``.onnx`` file to write.
        export_shape (tuple): Input shape to record the graph with.
            Defaults to (1, 3, 320, 320).
        check_shape (tuple, optional): Input shape of the check; None
            skips it. Defaults to (2, 3, 256, 384).
        opset (int, optional): ONNX opset; None takes the exporter's
            default. Defaults to None.
        dynamo (bool): Use the ``torch.export``-based exporter instead of
            the TorchScript one (which mmdeploy uses). Defaults to False.
        tolerance (float): Largest accepted :attr:`ExportResult.max_error`.
            Defaults to 1e-4.
        force (bool): Overwrite ``output`` if it exists. Defaults to False.

    Returns:
        ExportResult: The file and the check's figures.

    Raises:
        ConfigError, CheckpointError: For unusable input.
        FileExistsError: If ``output`` exists and ``force`` is False.
        ValueError: If onnxruntime's outputs differ from PyTorch's by more
            than ``tolerance`` (nothing is written then).
    """
    if osp.exists(output) and not force:
        raise FileExistsError(f'{output}: already exists (pass force=True, '
                              'or --force, to overwrite it)')
    if osp.isdir(output):
        raise FileExistsError(f'{output}: is a directory, expected a file '
                              'name such as backbone.onnx')
    for name, shape in (('export_shape', export_shape),
                        ('check_shape', check_shape or (1, 3, 1, 1))):
        if len(shape) != 4 or min(shape) < 1:
            raise ValueError(f'{name} {tuple(shape)}: expected four '
                             'positive sizes N, C, H, W')
    if isinstance(config, nn.Module):
        model = config
        model.eval()  # mmdet's ResNet.train() returns None: no chaining
    else:
        model = build_backbone(config, checkpoint)
    model = model.float()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(*export_shape, generator=gen)
    output_names = [f'out{i}' for i in range(len(_outputs(model, x)))]
    result = ExportResult(output, tuple(export_shape), dynamo=dynamo)
    tmp = temporary_path(output)
    try:
        _export(model, x, tmp, output_names, opset, dynamo)
        result.opset = _file_opset(tmp)
        if check_shape is not None:
            x = torch.randn(*check_shape, generator=gen)
            expected = _outputs(model, x)
            actual = run_onnx(tmp, x)
            result.check_shape = tuple(check_shape)
            result.output_shapes = [tuple(o.shape) for o in actual]
            try:
                result.max_abs_error, result.max_error = compare_outputs(
                    actual, expected)
            except ValueError as err:  # e.g. a padding computed once
                raise ValueError(
                    f'{output}: on a {"x".join(map(str, check_shape))} '
                    f'input onnxruntime gives {err}: the graph holds a size '
                    'of the export input (export with --shape at the size '
                    'you deploy and check at that size); not written'
                ) from None
            if not result.max_error <= tolerance:
                raise ValueError(
                    f'{output}: onnxruntime differs from PyTorch by '
                    f'{result.max_error:.3g} (relative to the largest '
                    f'output), more than {tolerance:g}; not written')
        commit_file(tmp, output, overwrite=force)
    finally:
        if osp.exists(tmp):
            os.unlink(tmp)
    return result


def format_result(result: ExportResult) -> str:
    """A short report of :func:`export_backbone_onnx`'s result."""
    exporter = 'dynamo' if result.dynamo else 'TorchScript'
    opset = '' if result.opset is None else f', opset {result.opset}'
    lines = [f'wrote {result.path} ({exporter} exporter{opset}, recorded at '
             f'{"x".join(map(str, result.export_shape))}; batch, height and '
             'width are dynamic)']
    if result.check_shape is None:
        lines.append('not checked in onnxruntime')
    else:
        shapes = ', '.join('x'.join(map(str, s)) for s in result.output_shapes)
        lines.append(
            f'onnxruntime vs PyTorch on '
            f'{"x".join(map(str, result.check_shape))}: max abs error '
            f'{result.max_abs_error:.3g}, relative {result.max_error:.3g} '
            f'(outputs {shapes})')
    return '\n'.join(lines)


__all__ = [
    'ExportResult', 'build_backbone', 'compare_outputs',
    'export_backbone_onnx', 'format_result', 'load_backbone_weights',
    'run_onnx'
]
