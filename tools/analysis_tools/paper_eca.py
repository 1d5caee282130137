"""The paper's ECA, as a reference for the cheaper forms of the package.

Every ECA of the package is an ``ECAModule`` call whose last step, the
channel scaling, may take a cheaper form (``mmdet_eca.layers.eca_scale``).
:func:`paper_formulation` makes every such call multiply as the paper
writes it, ``x * gate``, a new tensor with autograd's own backward, so
that the tests, ``tools/check_execution_paths.py`` and
``tools/check_cuda.py`` can compare each form with it in the same model.
"""
import contextlib
from typing import Iterator

from mmdet_eca.layers import eca as eca_module
from mmdet_eca.layers import eca_scale


def paper_scale(eca, x, logits, norm_input=None):
    """``x * gate(logits)``, the paper's multiplication."""
    return x * eca.gate(logits)[:, :, None, None]


@contextlib.contextmanager
def paper_formulation() -> Iterator[None]:
    """Meanwhile, every ECA computes the paper's formulation (not thread
    safe: it swaps the scaling function the modules call)."""
    original = eca_module.channel_scale
    eca_module.channel_scale = paper_scale
    try:
        yield
    finally:
        eca_module.channel_scale = original


class FormCounter:
    """While active, counts the ECA scalings that could take a cheaper form
    (``eager``) and those taken the paper's way because something recorded
    the model (``recorded``)."""

    def __init__(self):
        self.eager = self.recorded = 0
        self._original = None

    def __enter__(self) -> 'FormCounter':
        self._original = original = eca_scale.is_recording

        def counting() -> bool:
            recording = original()
            if recording:
                self.recorded += 1
            else:
                self.eager += 1
            return recording

        eca_scale.is_recording = counting
        return self

    def __exit__(self, *exc) -> None:
        eca_scale.is_recording = self._original
