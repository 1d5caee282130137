"""Refuse a run whose heads do not have the dataset's class count."""
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from ...errors import ConfigError
from ..class_count import class_count_problem

# the loops a run builds before its before_run hooks, and their
# dataloaders' config keys
_LOOPS = (('_train_loop', 'train_dataloader'), ('_val_loop', 'val_dataloader'),
          ('_test_loop', 'test_dataloader'))


@HOOKS.register_module()
class ClassCountHook(Hook):
    """Check every head's ``num_classes`` against the dataset's classes.

    A head with another class count than its data trains and tests
    without an error and ends with AP 0.000 (see
    :mod:`mmdet_eca.engine.class_count`). Before anything runs
    (``before_run``: ``Runner.train()``, ``val()`` and ``test()`` build
    their loops, and so their datasets, first), this compares the
    ``num_classes`` of each head (box, mask and one-stage heads; not the
    class-agnostic RPN) with ``len(dataset.metainfo['classes'])`` of
    every dataloader the run built, and raises
    :class:`~mmdet_eca.errors.ConfigError` naming each mismatching entry,
    e.g. ``model.roi_head.mask_head.num_classes=3``, the dataset's count
    and where its classes come from. Configs select it with::

        custom_hooks = [dict(type='ClassCountHook')]

    Args:
        allow_extra_classes (bool): Accept heads with more classes than
            the data (say, classes to be added later). Heads with fewer
            are refused all the same: they cannot learn the higher labels.
            Defaults to False.
    """

    priority = 'VERY_HIGH'  # before the checkpoint is read or loaded

    def __init__(self, allow_extra_classes: bool = False) -> None:
        self.allow_extra_classes = allow_extra_classes

    def before_run(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        problems = []
        for attribute, key in _LOOPS:
            loop = getattr(runner, attribute, None)
            if not isinstance(loop, BaseLoop):
                continue
            problem = class_count_problem(model, loop.dataloader.dataset,
                                          key, self.allow_extra_classes)
            if problem and problem not in problems:
                problems.append(problem)
        if problems:
            source = f'{runner.cfg.filename}: ' if getattr(
                runner.cfg, 'filename', None) else ''
            raise ConfigError(source + problems[0])
