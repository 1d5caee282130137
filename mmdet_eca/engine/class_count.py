"""Compare the class count of a detector's heads with its dataset's.

Moving a COCO config to one's own data means setting ``num_classes`` in
every head (Mask R-CNN has two, Cascade R-CNN one per stage) and the
dataset's ``metainfo.classes``. Forgetting one trains without a word: a
head with more classes than the data learns never-seen classes, one with
fewer reads the higher labels as background or indexes out of range, and
the run ends with AP 0.000. :func:`class_count_problem` names every head
entry that disagrees with a dataset, in one line.
"""
import re
from typing import List, Optional, Tuple

from torch import nn

# Heads whose num_classes is not the dataset's: the RPN is class-agnostic
# (1 "object" class by design) and HTC's semantic head predicts stuff
# classes of its own.
_OTHER_CLASSES = ('rpn_head', 'semantic_head')


def _entry(module_path: str) -> str:
    """``roi_head.bbox_head.0`` -> ``model.roi_head.bbox_head[0]``, the
    config entry a module was built from (MMDetection names its modules
    after their config keys)."""
    return 'model.' + re.sub(r'\.(\d+)(?=\.|$)', r'[\1]', module_path)


def head_class_counts(model: nn.Module) -> List[Tuple[str, int]]:
    """``(config entry, num_classes)`` of each head of ``model`` that
    classifies the dataset's classes.

    Every module with an integer ``num_classes`` counts, but for
    class-agnostic heads (the RPN, a ``class_agnostic`` mask head), HTC's
    semantic head, and modules inside a counted one.

    Args:
        model (nn.Module): A detector (unwrapped).

    Returns:
        list[tuple[str, int]]: e.g. ``[('model.roi_head.bbox_head', 80),
        ('model.roi_head.mask_head', 80)]``.
    """
    heads: List[Tuple[str, int]] = []
    counted: List[str] = []
    for path, module in model.named_modules():
        count = getattr(module, 'num_classes', None)
        if not path or not isinstance(count, int) or isinstance(count, bool):
            continue
        names = path.split('.')
        if any(name in _OTHER_CLASSES for name in names) or getattr(
                module, 'class_agnostic', False) is True:
            continue
        if any(path.startswith(done + '.') for done in counted):
            continue
        counted.append(path)
        heads.append((f'{_entry(path)}.num_classes', count))
    return heads


def _innermost(dataset):
    """The first dataset inside wrappers (RepeatDataset, ConcatDataset,
    ...), whose metainfo the wrapper reports."""
    while True:
        inner = getattr(dataset, 'dataset', None)
        if inner is None:
            inner = (getattr(dataset, 'datasets', None) or [None])[0]
        if inner is None:
            return dataset
        dataset = inner


def _default_classes(dataset) -> bool:
    """Whether ``dataset`` has its class's default classes (no
    ``metainfo`` of the config's own)."""
    classes = tuple(dataset.metainfo.get('classes') or ())
    default = tuple(
        (getattr(type(dataset), 'METAINFO', None) or {}).get('classes')
        or ())
    return bool(classes) and classes == default


def _shown(classes) -> str:
    names = ', '.join(repr(c) for c in classes[:4])
    return names + (', ...' if len(classes) > 4 else '')


def class_count_problem(model: nn.Module,
                        dataset,
                        loader_key: str,
                        allow_extra_classes: bool = False) -> Optional[str]:
    """Why the heads of ``model`` do not fit the classes of ``dataset``.

    Args:
        model (nn.Module): A detector (unwrapped).
        dataset: A built dataset (or wrapper) with ``metainfo['classes']``;
            one without classes is not checked.
        loader_key (str): Its dataloader's config key, for the message
            (``'train_dataloader'``).
        allow_extra_classes (bool): Accept heads with more classes than the
            dataset (classes to be added later); fewer never fit. Defaults
            to False.

    Returns:
        str | None: One line naming every mismatching head entry, the
        dataset's class count, where the classes come from and what to
        do; None when every head fits.
    """
    classes = tuple((getattr(dataset, 'metainfo', None) or {}).get(
        'classes') or ())
    if not classes:
        return None
    wanted = len(classes)
    wrong = [(entry, count) for entry, count in head_class_counts(model)
             if count < wanted or (count > wanted and not allow_extra_classes)]
    if not wrong:
        return None
    entries = ', '.join(f'{entry}={count}' for entry, count in wrong)
    dataset = _innermost(dataset)
    source = getattr(dataset, 'ann_file', None)
    where = f' ({source})' if source else ''
    if _default_classes(dataset):
        # the config never named the data's classes: that is the fix
        origin = f"{type(dataset).__name__}'s default classes"
        fix = (f'set {loader_key}.dataset.metainfo=dict(classes=...) to '
               f'your data\'s classes, or num_classes={wanted} in each head')
    else:
        origin = f'{loader_key}.dataset.metainfo.classes'
        fix = f'set num_classes={wanted} in each head'
    if not any(count < wanted for _, count in wrong):
        fix += (' (or, to train more classes than the data has, '
                'allow_extra_classes=True in the ClassCountHook of '
                'custom_hooks)')
    return (f'{entries}, but the {loader_key} dataset{where} has {wanted} '
            f'classes ({_shown(classes)}: {origin}): {fix}')
