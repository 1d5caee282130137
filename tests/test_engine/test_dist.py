import torch.distributed as dist

from mmdet_eca.engine import close_distributed


def test_close_distributed_destroys_the_group(tmp_path):
    close_distributed()  # nothing set up: nothing to do
    dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
        world_size=1)
    assert dist.is_initialized()
    close_distributed()
    assert not dist.is_initialized()
