"""An MMEngine Runner that loses nothing and explains bad input."""
import copy
from typing import Optional, Union

from mmengine.dist import master_only
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from .checkpoint_hook import AtomicCheckpointHook
from .checks import annotation_problem, evaluator_problem
from ..errors import CheckpointError, DataError
from .explain import explained
from .image_check import check_images
from .model_fit import load_weights, read_checkpoint, resumable_problem
from .random_state import capture_rng_state, restore_rng_state


def _with_atomic_checkpoints(hooks: Optional[dict]) -> dict:
    """``default_hooks`` with a plain CheckpointHook (MMEngine's default
    included) replaced by :class:`AtomicCheckpointHook`."""
    hooks = dict(hooks or {})
    checkpoint = hooks.get('checkpoint', dict(type='CheckpointHook',
                                              interval=1))
    if isinstance(checkpoint, dict) and checkpoint.get('type') in (
            'CheckpointHook', 'mmengine.CheckpointHook'):
        hooks['checkpoint'] = dict(
            copy.deepcopy(checkpoint), type=AtomicCheckpointHook)
    return hooks


@RUNNERS.register_module()
class SafeRunner(Runner):
    """MMEngine's ``Runner``, with what ``tools/train.py`` and
    ``tools/test.py`` rely on:

    * **crash-safe checkpoints**: a plain ``CheckpointHook`` is replaced by
      :class:`AtomicCheckpointHook`;
    * **lossless resume**: checkpoints carry the random generators' states
      (``meta['rng_state']``) and a single-process resume restores them,
      so it draws the same flips and sampled RoIs as an uninterrupted run
      (with several processes each rank's generators differ, and only
      rank 0 saves, so they are re-seeded as MMEngine does). Bit-equal
      weights also need the same thread count and no validation between
      the checkpoint and the end of the comparison: a validation data
      loader draws its seed from torch's global generator;
    * **checked loading**: testing and resuming load weights strictly, and
      a file that is no checkpoint, is truncated, fits another model or
      cannot be resumed from raises a one-line :class:`CheckpointError`
      (:mod:`.model_fit`); fine-tuning from ``load_from`` stays non-strict;
    * **checked data**: the images a built dataset lists are checked
      before the first iteration, and an annotation file that fails to
      load is named (:class:`DataError`);
    * **explained config errors**: a component that fails to build raises
      a :class:`ConfigError` naming its config entry (:mod:`.explain`).

    Configs select it with ``runner_type = 'SafeRunner'``;
    :func:`build_runner` uses it unless a config names another runner.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._strict_load = False
        self._resuming = False
        self._resumed_meta = None
        super().__init__(*args, **kwargs)

    def register_default_hooks(self, hooks=None) -> None:
        super().register_default_hooks(_with_atomic_checkpoints(hooks))

    def train(self):
        with explained(self.cfg):
            return super().train()

    def val(self) -> dict:
        self._strict_load = True
        with explained(self.cfg):
            return super().val()

    def test(self) -> dict:
        self._strict_load = True
        with explained(self.cfg):
            return super().test()

    @staticmethod
    def build_dataloader(dataloader: Union[DataLoader, dict],
                         seed: Optional[int] = None,
                         diff_rank_seed: bool = False) -> DataLoader:
        if not isinstance(dataloader, dict):
            return Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        try:
            loader = Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        except Exception as err:  # noqa: B902  re-raised, maybe re-worded
            problem = annotation_problem(dataloader, '')
            if problem is None:
                raise
            raise DataError(problem) from err
        check_images(loader.dataset)
        return loader

    def build_evaluator(self, evaluator):
        try:
            return super().build_evaluator(evaluator)
        except Exception as err:  # noqa: B902  re-raised, maybe re-worded
            evaluators = evaluator if isinstance(evaluator, list) else [
                evaluator
            ]
            for one in evaluators:
                problem = isinstance(one, dict) and evaluator_problem(
                    one, '')
                if problem:
                    raise DataError(problem) from err
            raise

    def resume(self,
               filename: str,
               resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location='default') -> None:
        self._strict_load = self._resuming = True
        try:
            super().resume(filename, resume_optimizer,
                           resume_param_scheduler, map_location)
        finally:
            self._resuming = False
        rng_state = (self._resumed_meta or {}).get('rng_state')
        if rng_state is None:
            return
        if self.world_size > 1:
            self.logger.info('Several processes: the random generators are '
                             'seeded anew, not restored from the checkpoint')
            return
        # after Runner.resume, which re-seeds if the seed differs
        restore_rng_state(rng_state)
        self.logger.info('Restored the random generators of the checkpoint')

    def load_checkpoint(self,
                        filename: str,
                        map_location='cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):
        """As ``Runner.load_checkpoint``, through :mod:`.model_fit`; strict
        when testing or resuming. Files load onto the CPU whatever
        ``map_location`` says; loading into the model moves the weights."""
        checkpoint = read_checkpoint(filename)
        problem = self._resuming and resumable_problem(checkpoint)
        if problem:
            raise CheckpointError(f'{filename}: {problem}')
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        load_weights(
            model,
            checkpoint,
            filename,
            strict=strict or self._strict_load,
            revise_keys=revise_keys,
            logger=self.logger)
        if self._resuming:
            self._resumed_meta = checkpoint['meta']
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint

    @master_only
    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        """As ``Runner.save_checkpoint``, adding ``meta['rng_state']``."""
        if meta is None or isinstance(meta, dict):
            meta = dict(meta or {}, rng_state=capture_rng_state())
        super().save_checkpoint(out_dir, filename, file_client_args,
                                save_optimizer, save_param_scheduler, meta,
                                by_epoch, backend_args)
