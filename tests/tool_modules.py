"""Import a script of tools/ as a module, as `python tools/<name>.py` runs
it (its folder first on sys.path, for analysis_tools and demo_utils)."""
import importlib.util
import os.path as osp
import sys

TOOLS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools')


def load_tool(name: str):
    """The module of ``tools/<name>.py``."""
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    spec = importlib.util.spec_from_file_location(
        name, osp.join(TOOLS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
