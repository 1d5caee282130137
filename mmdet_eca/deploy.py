"""Deploy a whole ECA detector with mmdeploy, checked in onnxruntime.

mmdeploy (1.3.1 is its release for MMDetection 3.x) exports a detector
with its pre- and post-processing rewritten for a backend: one ONNX file
from the preprocessed image to boxes, scores and labels, NMS included.
:func:`deploy_onnx` runs its ``torch2onnx`` for onnxruntime with the deploy
config shipped in ``configs/deploy/`` (mmdeploy's wheel ships none), with
the TorchScript exporter on every torch
(:func:`~mmdet_eca.compat.torchscript_onnx_export`), then runs the file in
onnxruntime and matches its detections against the PyTorch detector's on
the same image. The file is renamed into place only once that check
passes. ECA blocks export as the paper's formulation (standard
``ReduceMean``, ``Conv``, ``Sigmoid``, ``Mul``).
"""
import os
import os.path as osp
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch

from .compat import torchscript_onnx_export
from .fileio import commit_file

DEPLOY_CFG = osp.join('deploy', 'detection_onnxruntime_dynamic.py')


def default_deploy_config() -> str:
    """The shipped onnxruntime deploy config: in a wheel's ``.mim``, or in
    the checkout's ``configs/``."""
    package = osp.dirname(osp.abspath(__file__))
    for configs in (osp.join(package, '.mim', 'configs'),
                    osp.join(osp.dirname(package), 'configs')):
        if osp.isfile(osp.join(configs, DEPLOY_CFG)):
            return osp.join(configs, DEPLOY_CFG)
    raise FileNotFoundError(f'{DEPLOY_CFG}: not found beside mmdet_eca; '
                            'pass a deploy config (--deploy-cfg)')


@dataclass
class DeployResult:
    """What :func:`deploy_onnx` wrote and how its check came out.

    Attributes:
        path (str): The ONNX file.
        compared (int): PyTorch's top detections that were looked up.
        matched (int): Those found in onnxruntime's output (same label,
            boxes and scores within the tolerances).
        max_score_diff (float): Largest score difference of a match.
        max_box_diff (float): Largest box coordinate difference of a
            match, in pixels of the network input.
        onnx_detections (int): Detections onnxruntime returned.
    """
    path: str
    compared: int = 0
    matched: int = 0
    max_score_diff: float = 0.0
    max_box_diff: float = 0.0
    onnx_detections: int = 0


def _mmdeploy():
    try:
        from mmdeploy.apis import build_task_processor, torch2onnx
        from mmdeploy.utils import load_config
    except ImportError as err:
        raise ImportError(
            f'deploying needs mmdeploy ({err}): pip install mmdeploy==1.3.1 '
            'onnxruntime (README, "Deploy")') from None
    return build_task_processor, torch2onnx, load_config


def match_detections(expected: Tuple[np.ndarray, np.ndarray, np.ndarray],
                     actual: Tuple[np.ndarray, np.ndarray, np.ndarray],
                     top_k: int, score_tolerance: float,
                     box_tolerance: float) -> Tuple[int, int, float, float]:
    """Look up the ``top_k`` best of ``expected`` in ``actual``.

    Rank order is not compared: scores that differ in the seventh digit
    may swap places, and NMS keeps either box of such a pair.

    Args:
        expected, actual: ``(boxes [K, 4], scores [K], labels [K])``.
        top_k (int): How many of ``expected``'s best to look up.
        score_tolerance (float): Largest accepted score difference.
        box_tolerance (float): Largest accepted coordinate difference.

    Returns:
        tuple: ``(compared, matched, max score diff, max box diff)`` over
        the matched detections.
    """
    boxes, scores, labels = expected
    order = np.argsort(-scores, kind='stable')[:top_k]
    matched, score_diff, box_diff = 0, 0.0, 0.0
    for i in order:
        same = actual[2] == labels[i]
        if not same.any():
            continue
        box_d = np.abs(actual[0][same] - boxes[i]).max(axis=1)
        score_d = np.abs(actual[1][same] - scores[i])
        ok = (box_d <= box_tolerance) & (score_d <= score_tolerance)
        if ok.any():
            j = np.flatnonzero(ok)[np.argmin(box_d[ok])]
            matched += 1
            score_diff = max(score_diff, float(score_d[j]))
            box_diff = max(box_diff, float(box_d[j]))
    return len(order), matched, score_diff, box_diff


def deploy_onnx(config: str,
                checkpoint: str,
                image: str,
                output: str,
                deploy_cfg: Optional[str] = None,
                top_k: int = 10,
                score_tolerance: float = 1e-4,
                box_tolerance: float = 0.05,
                force: bool = False) -> DeployResult:
    """Export ``config``'s detector with mmdeploy and check it.

    Args:
        config (str): Detector config (its ``custom_imports`` load
            mmdet_eca).
        checkpoint (str): The detector's checkpoint.
        image (str): An image to record the graph with and to check on.
        output (str): The ``.onnx`` file to write.
        deploy_cfg (str, optional): mmdeploy deploy config; None takes
            :func:`default_deploy_config`. Defaults to None.
        top_k (int): PyTorch's best detections that onnxruntime must
            return too. Defaults to 10.
        score_tolerance (float): Defaults to 1e-4.
        box_tolerance (float): In pixels. Defaults to 0.05.
        force (bool): Overwrite ``output``. Defaults to False.

    Returns:
        DeployResult: The file and the check's figures.

    Raises:
        FileExistsError: ``output`` exists and ``force`` is False.
        FileNotFoundError: A missing config, checkpoint or image.
        ImportError: mmdeploy or onnxruntime is not installed.
        ValueError: onnxruntime misses one of PyTorch's top detections
            (nothing is written then).
    """
    if osp.exists(output) and not force:
        raise FileExistsError(f'{output}: already exists (pass --force to '
                              'overwrite it)')
    for what, path in (('config', config), ('checkpoint', checkpoint),
                       ('image', image)):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} {path}: no such file')
    deploy_cfg = deploy_cfg or default_deploy_config()
    build_task_processor, torch2onnx, load_config = _mmdeploy()
    import onnxruntime as ort

    folder = osp.dirname(osp.abspath(output))
    os.makedirs(folder, exist_ok=True)
    work = tempfile.mkdtemp(prefix='.deploy-', dir=folder)
    try:
        with torchscript_onnx_export(), warnings.catch_warnings():
            # mmdeploy's rewrites convert sizes to Python numbers on
            # purpose; the tracer warns about each one
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            torch2onnx(image, work, 'end2end.onnx', deploy_cfg, config,
                       checkpoint, device='cpu')
        onnx_file = osp.join(work, 'end2end.onnx')
        deploy, model_cfg = load_config(deploy_cfg, config)
        task = build_task_processor(model_cfg, deploy, 'cpu')
        model = task.build_pytorch_model(checkpoint)
        data, inputs = task.create_input(
            image, None, data_preprocessor=model.data_preprocessor)
        with torch.no_grad():
            pred = model.predict(
                inputs, data['data_samples'], rescale=False)[0].pred_instances
        expected = (pred.bboxes.numpy(), pred.scores.numpy(),
                    pred.labels.numpy())
        session = ort.InferenceSession(onnx_file,
                                       providers=['CPUExecutionProvider'])
        dets, labels = session.run(['dets', 'labels'],
                                   {'input': inputs.numpy()})
        actual = (dets[0, :, :4], dets[0, :, 4], labels[0])
        result = DeployResult(output, onnx_detections=len(labels[0]))
        (result.compared, result.matched, result.max_score_diff,
         result.max_box_diff) = match_detections(expected, actual, top_k,
                                                 score_tolerance,
                                                 box_tolerance)
        if result.compared == 0:
            raise ValueError(
                f'{output}: the PyTorch detector finds nothing on {image}, '
                'so the check would compare nothing; use an image with '
                'objects the detector finds; not written')
        if result.matched < result.compared:
            raise ValueError(
                f'{output}: onnxruntime returns {result.matched} of '
                f"PyTorch's {result.compared} best detections on {image} "
                f'(boxes within {box_tolerance:g} px, scores within '
                f'{score_tolerance:g}); not written')
        commit_file(onnx_file, output, overwrite=force)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def format_result(result: DeployResult) -> str:
    """A short report of :func:`deploy_onnx`'s result."""
    return (f'wrote {result.path} (mmdeploy, TorchScript exporter, '
            'onnxruntime, any input size)\n'
            f'onnxruntime vs PyTorch: {result.matched} of {result.compared} '
            f'top detections match (largest score difference '
            f'{result.max_score_diff:.2g}, box difference '
            f'{result.max_box_diff:.2g} px); the file returned '
            f'{result.onnx_detections} detections')


__all__ = [
    'DeployResult', 'default_deploy_config', 'deploy_onnx', 'format_result',
    'match_detections'
]
