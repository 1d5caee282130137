"""The demo's generated dataset and pictures (used by tools/demo.py,
tools/infer.py and the tests; not part of the installed package)."""
from .draw_predictions import draw_predictions, list_images
from .draw_results import draw_results
from .image_grid import save_image_grid
from .schedule import epoch_options
from .settings import DEMO_CONFIG, DEMO_DATA, inner_dataset, use_shapes_data
from .shapes import CLASSES as SHAPES_CLASSES
from .shapes import generate_shapes_dataset
from .shrink import shrink_config
from .training_curves import plot_training_curves, read_scalars

__all__ = [
    'DEMO_CONFIG', 'DEMO_DATA', 'SHAPES_CLASSES', 'draw_predictions',
    'draw_results', 'epoch_options', 'generate_shapes_dataset',
    'inner_dataset', 'list_images', 'plot_training_curves', 'read_scalars',
    'save_image_grid', 'shrink_config', 'use_shapes_data'
]
