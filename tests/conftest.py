import logging
import os
import sys

import pytest
import torch
from mmengine.logging import MMLogger

# Test helpers (reference_models.py, tiny_runs.py, ...) live next to this file.
sys.path.insert(0, os.path.dirname(__file__))
# The benchmark and demo libraries live beside the tools that use them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'tools'))


@pytest.fixture(scope='session')
def shapes_data(tmp_path_factory):
    """A tiny shapes dataset: 4 train and 2 val images of 96x96."""
    from demo_utils import generate_shapes_dataset
    root = tmp_path_factory.mktemp('data') / 'shapes'
    generate_shapes_dataset(
        str(root), num_train=4, num_val=2, image_size=96, max_objects=3,
        min_size=16, max_size=40, seed=1)
    return root


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each test's tensor work on one thread, restored afterwards.

    The test machine's two cores are shared; two intra-op threads that
    keep waiting for each other made a ResNet-101 forward 30x slower than
    one thread. Tests of thread counts set their own.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def no_dead_log_streams():
    """Point MMEngine's loggers at a live stream before each test.

    MMEngine keeps every logger for the life of the process. One made while
    an earlier test captured its output (capsys) still writes to that
    closed capture, and a later message turns into "--- Logging error ---"
    with a traceback in this test's output.
    """
    for logger in list(MMLogger._instance_dict.values()):
        for handler in logger.handlers:
            stream = getattr(handler, 'stream', None)
            if isinstance(handler, logging.StreamHandler) and getattr(
                    stream, 'closed', False):
                # not setStream(), which flushes the closed stream first
                handler.stream = sys.__stderr__
    yield
