import os
import sys

# Test helpers (reference_models.py, ...) live next to this file.
sys.path.insert(0, os.path.dirname(__file__))
