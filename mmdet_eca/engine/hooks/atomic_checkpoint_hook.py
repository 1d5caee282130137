"""MMEngine's CheckpointHook with crash-safe saving.

The hook, not the Runner, is where MMEngine orders deleting old
checkpoints, writing the new one and updating ``last_checkpoint``, so a
subclass of it is the narrowest place to make that sequence safe; patching
MMEngine's save function on import instead would change every Runner in
the process, including ones that never asked for it.
"""
import os.path as osp
import shutil
from typing import List

from mmdet.registry import HOOKS
from mmengine.dist import is_main_process
from mmengine.fileio.backends import LocalBackend

from ...compat import checkpoint_hook_with_save_step
from ...fileio import commit_file, write_text_atomic

PARTIAL_SUFFIX = '.tmp'


@HOOKS.register_module()
class AtomicCheckpointHook(checkpoint_hook_with_save_step()):
    """``CheckpointHook`` whose saves never lose the previous checkpoint.

    MMEngine 0.10's hook, when ``max_keep_ckpts`` is reached, deletes the
    oldest checkpoint *before* writing the new one, writes the new file in
    place, and then overwrites ``last_checkpoint`` in place. A run killed
    during a save can so be left with a truncated newest checkpoint, a
    pointer to it (or an empty pointer), and, with ``max_keep_ckpts=1``,
    nothing else to resume from. This hook, for local folders:

    1. writes the checkpoint as ``<name>.tmp`` in the same folder, syncs it
       and renames it to ``<name>`` (atomic on one file system);
    2. only then points ``last_checkpoint`` at it, also through a
       temporary file and a rename;
    3. only then deletes checkpoints beyond ``max_keep_ckpts``.

    A crash at any point leaves ``last_checkpoint`` naming a complete file,
    so ``--resume`` continues from the last finished save. Remote
    ``out_dir`` (``s3://`` ...) keeps MMEngine's behaviour. All arguments
    are ``CheckpointHook``'s. Configs select it in place of MMEngine's::

        default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
    """

    def _is_local(self) -> bool:
        return (self.file_client_args is None
                and isinstance(self.file_backend, LocalBackend))

    def save_step(self, runner, step, meta) -> None:
        # MMEngine's bookkeeping for interval, last and best saves, in a
        # crash-safe order.
        if not self._is_local():
            super().save_step(runner, step, meta)
            return
        outdated = self._keep(runner, step)
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        partial = filename + PARTIAL_SUFFIX
        runner.save_checkpoint(
            self.out_dir,
            partial,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        commit_file(osp.join(self.out_dir, partial), self.last_ckpt)
        write_text_atomic(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for path in outdated:
            if osp.isdir(path):  # DeepSpeed saves folders
                shutil.rmtree(path)
            elif osp.exists(path):
                self.file_backend.remove(path)

    def _keep(self, runner, step) -> List[str]:
        """Record ``step`` among the kept checkpoints (also in the message
        hub, so a resumed run knows them); return the paths it pushes out,
        for deletion once the new checkpoint is safely written."""
        if self.max_keep_ckpts <= 0:
            return []
        if self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step:
            return []  # the same step saved again (e.g. after a best save)
        outdated = []
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            old = self.keep_ckpt_ids.popleft()
            outdated.append(
                osp.join(self.out_dir, self.filename_tmpl.format(old)))
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
        return outdated
