"""The attention comparison (``tools/compare_attention.py``): variants,
runs through tools/train.py, and their summary (not part of the installed
package)."""
