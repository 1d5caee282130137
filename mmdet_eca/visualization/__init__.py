from .draw_predictions import draw_predictions, list_images
from .image_grid import save_image_grid
from .training_curves import plot_training_curves, read_scalars

__all__ = [
    'draw_predictions', 'list_images', 'plot_training_curves', 'read_scalars',
    'save_image_grid'
]
