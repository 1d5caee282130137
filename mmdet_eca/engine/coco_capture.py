"""Check COCO annotation files while a dataset loads them.

``CocoDataset.load_data_list`` parses its file into a ``COCO`` object,
turns it into its data list and deletes it: afterwards the raw
annotations (their ids, the boxes it dropped) are gone, and parsing a
450 MB file again would double the load time. So, while a runner builds
its datasets, :func:`checking_coco_files` gives ``CocoDataset`` (and its
subclasses that keep its ``COCOAPI``) a ``COCO`` that checks the parsed
file first (:func:`~.annotation_check.summarize_coco`) and notes which
categories the dataset's classes select. Only for that block: the class
attribute is restored on leaving it. Once the dataset is built (or has
failed to), the summaries say what MMDetection left out of it
(:func:`report_dropped`) or why it came out empty (:func:`emptied_problem`).
"""
import logging
from contextlib import contextmanager
from typing import Iterator, List, Optional

from mmdet.datasets import CocoDataset
from mmengine.logging import print_log

from .annotation_check import AnnotationSummary, summarize_coco


@contextmanager
def checking_coco_files() -> Iterator[List[AnnotationSummary]]:
    """Check every COCO file a ``CocoDataset`` loads inside the block.

    Yields:
        list[AnnotationSummary]: Filled with one summary per file loaded.

    Raises:
        DataError: From a dataset's build, naming a bad file or annotation
            (see :func:`~.annotation_check.summarize_coco`).
    """
    summaries: List[AnnotationSummary] = []
    original = CocoDataset.__dict__['COCOAPI']

    class CheckedCOCO(original):
        """mmdet's ``COCO``, checking the file it parsed."""

        def __init__(self, annotation_file=None) -> None:
            super().__init__(annotation_file)
            self.eca_summary = None
            if annotation_file is not None:
                self.eca_summary = summarize_coco(self.dataset,
                                                  str(annotation_file))
            if self.eca_summary is not None:
                summaries.append(self.eca_summary)

        def get_cat_ids(self, cat_names=(), sup_names=(), cat_ids=()):
            # CocoDataset asks once, with its classes, for its categories
            found = super().get_cat_ids(cat_names, sup_names, cat_ids)
            if self.eca_summary is not None and not sup_names and \
                    not cat_ids:
                self.eca_summary.set_classes(cat_names or (), found)
            return found

    CocoDataset.COCOAPI = CheckedCOCO
    try:
        yield summaries
    finally:
        CocoDataset.COCOAPI = original


def emptied_problem(summaries: List[AnnotationSummary],
                    err: BaseException) -> Optional[str]:
    """What to say when building a dataset of these files failed because
    MMDetection's filters left no image, or None for any other failure."""
    # NumPy's words when MMEngine serialises an empty data list
    if not summaries or 'need at least one array to concatenate' not in str(
            err):
        return None
    return emptied_line(summaries[-1])


def _leaves(dataset) -> Iterator:
    """The datasets inside wrappers (RepeatDataset, ConcatDataset, ...)."""
    stack = [dataset]
    while stack:
        current = stack.pop()
        if getattr(current, 'datasets', None) is not None:
            stack.extend(current.datasets)
        elif getattr(current, 'dataset', None) is not None:
            stack.append(current.dataset)
        else:
            yield current


def report_dropped(dataset, summaries: List[AnnotationSummary]) -> None:
    """Log, per training file, what MMDetection left out of it: a warning
    with the counts, or a line saying it keeps everything.

    Test and validation sets are not reported: their metric reads the
    file itself, not the dataset's filtered copy.

    Args:
        dataset: The built dataset (or wrapper).
        summaries (list[AnnotationSummary]): From
            :func:`checking_coco_files` around its build.
    """
    by_path = {summary.path: summary for summary in summaries}
    for leaf in _leaves(dataset):
        summary = by_path.get(str(getattr(leaf, 'ann_file', '')))
        if summary is None or getattr(leaf, 'test_mode', False):
            continue
        line = dropped_line(summary, len(leaf), getattr(leaf, 'filter_cfg',
                                                        None))
        if line:
            print_log(line, logger='current', level=logging.WARNING)
        else:
            print_log(
                f'annotation file {summary.path}: MMDetection trains on all '
                f'its {len(summary.category_ids):,} annotations and '
                f'{summary.num_images:,} images', logger='current',
                level=logging.INFO)


def emptied_line(summary: AnnotationSummary) -> str:
    """Why a training file's dataset came out empty: MMDetection's
    ``filter_cfg`` left none of its images (NumPy then fails with "need at
    least one array to concatenate")."""
    total = int(len(summary.category_ids))
    dropped = summary.dropped()
    usable = total - sum(dropped.values())
    detail = ''.join(f', {count:,} {reason}'
                     for reason, count in dropped.items())
    return (f'annotation file {summary.path}: no image of its '
            f'{summary.num_images:,} is left after MMDetection\'s filter_cfg '
            f'(filter_empty_gt drops images without annotations of the '
            f"dataset's classes, min_size small ones): {usable:,} of its "
            f'{total:,} annotations are usable{detail}; check the file, the '
            "dataset's classes and filter_cfg")


def dropped_line(summary: AnnotationSummary, kept_images: Optional[int],
                 filter_cfg: Optional[dict]) -> Optional[str]:
    """One line counting what MMDetection leaves out of a training file,
    per reason, or None if it keeps everything.

    Args:
        summary (AnnotationSummary): The file's summary, classes set.
        kept_images (int, optional): Images the built dataset has.
        filter_cfg (dict, optional): The dataset's ``filter_cfg``.
    """
    dropped = summary.dropped()
    total = int(len(summary.category_ids))
    parts = []
    if dropped:
        detail = ', '.join(f'{count:,} {reason}'
                           for reason, count in dropped.items())
        parts.append(f'{sum(dropped.values()):,} of its {total:,} '
                     f'annotations ({detail})')
    if kept_images is not None and kept_images < summary.num_images:
        parts.append(f'{summary.num_images - kept_images:,} of its '
                     f'{summary.num_images:,} images (filter_cfg='
                     f'{filter_cfg})')
    if not parts:
        return None
    return (f'annotation file {summary.path}: MMDetection leaves out '
            f"{' and '.join(parts)}")
