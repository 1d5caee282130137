"""Check the checkpoint a run is about to load, before MMEngine loads it."""
from typing import Optional, Tuple

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.optim import BaseOptimWrapper, OptimWrapperDict
from mmengine.runner import find_latest_checkpoint

from ...compat import runner_load_request
from ...errors import CheckpointError
from ..loading import check_weights, read_checkpoint, resumable_problem
from ..pretrained_check import check_pretrained_backbone


def checkpoint_to_load(runner) -> Tuple[Optional[str], bool]:
    """``(file, resuming)``: what ``Runner.load_or_resume`` is going to
    load, in its order: an explicit resume file, the work dir's latest
    checkpoint, or ``load_from``; ``(None, False)`` when nothing."""
    load_from, resume = runner_load_request(runner)
    if resume:
        found = load_from or find_latest_checkpoint(runner.work_dir)
        if found:
            return found, True
    return load_from, False


@HOOKS.register_module()
class CheckedLoadHook(Hook):
    """Refuse a checkpoint that would load wrongly, in one line naming it.

    MMEngine reads a truncated file into torch's "PytorchStreamReader
    failed reading zip archive" and loads every checkpoint non-strictly, so
    a checkpoint of another model is tested or resumed with its
    mismatched weights left random. Before MMEngine loads (``before_run``),
    this hook reads the file with weights-only unpickling and checks it:

    * testing or validating, and resuming: the weights must fit the model
      exactly (names and shapes; an ECA backbone also names the kernel
      sizes to set), and a resumed file must hold the training state;
    * fine-tuning from ``load_from``: the file must be readable and share
      weights with the model (mismatches stay allowed, as MMEngine does);
    * training from the backbone's ``init_cfg=dict(type='Pretrained')``
      (nothing else to load): the file must fill every backbone weight
      but ECA the file has none of
      (:func:`~mmdet_eca.engine.pretrained_check.check_pretrained_backbone`),
      and one log line says what came from it.

    A failure raises :class:`~mmdet_eca.errors.CheckpointError`,
    ``"<file>: <what is wrong; what was expected>"``, the last line a
    stock tool prints. The file is then read a second time by MMEngine,
    which keeps its loading (optimizer, schedulers, logs) unchanged.
    Configs select it with::

        custom_hooks = [dict(type='CheckedLoadHook')]
    """

    priority = 'VERY_HIGH'  # refuse before other hooks start their work

    def before_run(self, runner) -> None:
        filename, resuming = checkpoint_to_load(runner)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if filename is None:
            backbone = getattr(model, 'backbone', None)
            report = backbone is not None and check_pretrained_backbone(
                backbone)
            if report:
                runner.logger.info(report)
            return
        checkpoint = read_checkpoint(filename)
        if resuming:
            problem = resumable_problem(checkpoint)
            if problem:
                raise CheckpointError(f'{filename}: {problem}')
        # Runner.train() builds its optimizer wrapper before before_run;
        # test() and val() leave its config as it is.
        training = isinstance(runner.optim_wrapper,
                              (BaseOptimWrapper, OptimWrapperDict))
        check_weights(model, checkpoint, filename,
                      strict=resuming or not training)
