"""The demo's generated dataset and pictures (used by tools/demo.py,
tools/infer.py and the tests; not part of the installed package)."""
from .draw_predictions import draw_predictions, list_images
from .image_grid import save_image_grid
from .shapes import CLASSES as SHAPES_CLASSES
from .shapes import generate_shapes_dataset
from .training_curves import plot_training_curves, read_scalars

__all__ = [
    'SHAPES_CLASSES', 'draw_predictions', 'generate_shapes_dataset',
    'list_images', 'plot_training_curves', 'read_scalars', 'save_image_grid'
]
