import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run these tests' convolutions on one thread.

    The test machine's two cores are shared; two intra-op threads that
    keep waiting for each other made a ResNet-101 forward 30x slower than
    one thread. Restored afterwards, so other tests keep their setting.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
