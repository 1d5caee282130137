"""A deterministic two-epoch run of the demo config, shared by the tests
of resuming and loading checkpoints."""
import pytest
import torch

from mmdet_eca.engine import build_runner
from .helpers import deterministic_config


@pytest.fixture(scope='session')
def straight_run(shapes_data, tmp_path_factory):
    """Work dir of an uninterrupted run: epoch_1.pth and epoch_2.pth."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    work = tmp_path_factory.mktemp('straight')
    build_runner(deterministic_config(shapes_data, work)).train()
    torch.set_num_threads(threads)
    return work
