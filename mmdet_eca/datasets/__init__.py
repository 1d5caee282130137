from .shapes import CLASSES as SHAPES_CLASSES
from .shapes import generate_shapes_dataset

__all__ = ['SHAPES_CLASSES', 'generate_shapes_dataset']
