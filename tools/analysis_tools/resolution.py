"""The ``HxW`` input sizes that the benchmark tools take."""
import argparse
from typing import Tuple


def parse_resolution(text: str) -> Tuple[int, int]:
    """``'800x1216'`` -> ``(800, 1216)``; ``'512'`` -> ``(512, 512)``.

    Raises ``argparse.ArgumentTypeError`` (a ``ValueError`` would lose the
    message in argparse) naming the value and the expected form.
    """
    try:
        sizes = tuple(int(p) for p in text.lower().split('x'))
    except ValueError:
        sizes = ()
    if len(sizes) == 1:
        sizes *= 2
    if len(sizes) != 2 or min(sizes) < 1:
        raise argparse.ArgumentTypeError(
            f'expected HxW such as 512x512 (or one size for both), got '
            f'{text!r}')
    return sizes
