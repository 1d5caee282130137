"""Resuming is lossless: stopping halfway and resuming trains exactly the
same model, optimizer state, lr and iteration count as one straight run."""
import pytest
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from mmdet_eca.engine import build_runner
from .helpers import deterministic_config


class Interrupted(Exception):
    pass


@HOOKS.register_module()
class InterruptAfterEpoch(Hook):
    """Stops a run right after the given epoch's checkpoint is saved."""
    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW)

    def __init__(self, epoch):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.epoch:
            raise Interrupted


def _assert_same_training_state(straight, resumed):
    assert straight['meta']['epoch'] == resumed['meta']['epoch'] == 2
    assert straight['meta']['iter'] == resumed['meta']['iter'] == 4
    assert straight['state_dict'].keys() == resumed['state_dict'].keys()
    for key, value in straight['state_dict'].items():
        assert torch.equal(value, resumed['state_dict'][key]), key
    groups = [(g['lr'], g['initial_lr'])
              for g in straight['optimizer']['param_groups']]
    assert groups == [(g['lr'], g['initial_lr'])
                      for g in resumed['optimizer']['param_groups']]
    state = straight['optimizer']['state']
    assert state and state.keys() == resumed['optimizer']['state'].keys()
    for key, buffers in state.items():
        other = resumed['optimizer']['state'][key]
        assert buffers.keys() == other.keys()
        for name, value in buffers.items():  # SGD's momentum, AdamW's moments
            assert torch.equal(value, other[name]), (key, name)
    assert straight['param_schedulers'] == resumed['param_schedulers']


def test_stop_and_resume_equals_a_straight_run(straight_run, shapes_data,
                                               tmp_path):
    cfg = deterministic_config(shapes_data, tmp_path, max_keep_ckpts=1)
    cfg.custom_hooks.append(dict(type='InterruptAfterEpoch', epoch=1))
    with pytest.raises(Interrupted):
        build_runner(cfg).train()
    assert (tmp_path / 'last_checkpoint').read_text().endswith('epoch_1.pth')

    cfg = deterministic_config(shapes_data, tmp_path, max_keep_ckpts=1)
    cfg.resume = True  # from the work dir's last_checkpoint
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == 4

    straight = torch.load(straight_run / 'epoch_2.pth')
    resumed = torch.load(tmp_path / 'epoch_2.pth')
    _assert_same_training_state(straight, resumed)
    assert not (tmp_path / 'epoch_1.pth').exists()  # max_keep_ckpts=1


def test_checkpoints_carry_the_random_generators(straight_run):
    meta = torch.load(straight_run / 'epoch_1.pth')['meta']
    assert set(meta['rng_state']) >= {'python', 'numpy', 'torch'}
