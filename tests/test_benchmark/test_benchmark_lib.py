"""analysis_tools: models, interleaved timing, peak memory, counts.

Only the harness is tested here; timing numbers belong in the benchmark's
output, not in assertions.
"""
import argparse

import pytest
import torch
from mmdet.models.backbones import ResNet
from torch import nn

from mmdet_eca.backbones import ECAResNet
from analysis_tools import (BenchmarkSettings, SEResNet, build_backbone,
                                 build_comparison, make_step,
                                 parse_backbone_name, parse_resolution,
                                 peak_memory, run_comparison, summarize,
                                 time_interleaved)
from analysis_tools import compare
from analysis_tools.memory import page_faults
from analysis_tools.flops import (ImageNetClassifier, count_complexity,
                                       count_parameters)


def test_time_interleaved_rotates_the_order():
    calls = []
    steps = {name: (lambda n=name: calls.append(n)) for name in 'abc'}
    times = time_interleaved(steps, repeats=3, warmup=1)
    assert calls[:3] == ['a', 'b', 'c']  # warm-up
    assert calls[3:] == ['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']
    assert all(len(t) == 3 and min(t) >= 0 for t in times.values())
    with pytest.raises(ValueError, match='repeats'):
        time_interleaved(steps, repeats=0)
    for clock in ('cpu', 'user'):
        cpu = time_interleaved({'spin': lambda: sum(range(200000))}, 2, 0,
                               clock=clock)
        assert len(cpu['spin']) == 2 and max(cpu['spin']) > 0
    with pytest.raises(ValueError, match='clock'):
        time_interleaved(steps, repeats=1, clock='sundial')


def test_summarize_ratios():
    stats = summarize({'base': [2.0, 4.0, 3.0], 'x': [3.0, 3.3, 6.0]}, 'base')
    assert stats['base'] == dict(min=2.0, median=3.0, min_ratio=1.0,
                                 median_ratio=1.0, paired_ratio=1.0)
    assert stats['x']['min_ratio'] == pytest.approx(1.5)
    assert stats['x']['median_ratio'] == pytest.approx(1.1)
    # per repeat: 1.5, 0.825, 2.0
    assert stats['x']['paired_ratio'] == pytest.approx(1.5)


def test_peak_memory_counts_live_tensor_bytes():

    def step():
        a = torch.empty(1000, 1000)  # 4 MB
        b = torch.empty(500, 1000)  # 6 MB live
        del a
        c = torch.empty(1000, 1000)  # 6 MB live again
        return b, c

    assert peak_memory(step) == 6_000_000
    kept = torch.empty(1000, 1000)  # live before the step: not counted
    # (plus a few bytes for the scalar operand)
    assert 4_000_000 <= peak_memory(lambda: kept.add(1)) < 4_000_100
    with pytest.raises(ValueError, match='cpu or cuda'):
        peak_memory(step, 'meta')


def test_peak_memory_keeps_stderr_but_not_the_profiler_chatter(capfd):
    import os

    def step():
        # straight to the file descriptor, where the profiler writes too
        os.write(2, b'a line of the step\n')
        return torch.empty(10)

    peak_memory(step)
    err = capfd.readouterr().err
    assert 'a line of the step' in err
    assert 'SyncActivityProfilerHandler' not in err


def test_page_faults_count_fresh_pages():
    import mmap

    def touch_fresh_pages(count=4096):
        # an anonymous mapping is fresh pages, each faulted in on first
        # touch (a tensor may reuse memory an earlier test left mapped)
        with mmap.mmap(-1, count * mmap.PAGESIZE) as memory:
            if hasattr(mmap, 'MADV_NOHUGEPAGE'):  # one fault per 4 KiB
                memory.madvise(mmap.MADV_NOHUGEPAGE)
            for offset in range(0, len(memory), mmap.PAGESIZE):
                memory[offset] = 1

    assert page_faults(touch_fresh_pages) >= 4096
    assert page_faults(lambda: None) < 100


def test_backbone_names():
    assert parse_backbone_name('ECAResNet-50') == (ECAResNet, 50)
    assert parse_backbone_name('resnet101') == (ResNet, 101)
    assert parse_backbone_name('SEResNet-18') == (SEResNet, 18)
    with pytest.raises(ValueError, match='unknown backbone'):
        parse_backbone_name('VGG-16')
    assert isinstance(build_backbone('ecaresnet-18'), ECAResNet)


def test_comparison_models_share_weights_and_shapes():
    models = build_comparison(18)
    assert list(models) == ['ResNet-18', 'ECAResNet-18', 'SEResNet-18']
    resnet, eca, se = models.values()
    for name, p in resnet.state_dict().items():
        torch.testing.assert_close(eca.state_dict()[name], p)
        torch.testing.assert_close(se.state_dict()[name], p)
    assert count_parameters(eca) - count_parameters(resnet) == \
        2 * (3 + 5 + 7 + 7)
    x = torch.randn(1, 3, 64, 64)
    for m in models.values():
        m.eval()
    with torch.no_grad():
        shapes = [[o.shape for o in m(x)] for m in models.values()]
    assert shapes[0] == shapes[1] == shapes[2]


def test_control_is_an_identical_resnet():
    models = build_comparison(18, control=True)
    assert list(models)[-1] == 'ResNet-18 (copy)'
    copy, original = models['ResNet-18 (copy)'], models['ResNet-18']
    assert copy is not original and type(copy) is ResNet
    for (name, a), b in zip(original.state_dict().items(),
                            copy.state_dict().values()):
        assert torch.equal(a, b), name


def test_se_resnet_is_resnet_plus_se_layers():
    se = SEResNet(depth=50)
    # one SE per block: C -> C/16 -> C, 1x1 convs with biases
    extra = 0
    for c, n in zip((256, 512, 1024, 2048), (3, 4, 6, 3)):
        extra += n * (2 * c * (c // 16) + c // 16 + c)
    assert count_parameters(se) - count_parameters(ResNet(50)) == extra
    block = se.layer1[0]
    block.eval()
    x = torch.randn(1, 64, 8, 8)
    out = block.norm3(block.conv3(block.relu(block.norm2(block.conv2(
        block.relu(block.norm1(block.conv1(x))))))))
    expected = torch.relu(block.se(out) + block.downsample(x))
    torch.testing.assert_close(block(x), expected)


def test_make_step_modes():
    model = build_backbone('ResNet-18')
    x = torch.randn(1, 3, 32, 32)
    model.train()
    make_step(model, x, 'train')()
    assert all(p.grad is None for p in model.parameters())  # freed
    with pytest.raises(ValueError, match='mode'):
        make_step(model, x, 'test')


def test_page_faults_are_counted_before_the_peak_memory_runs(monkeypatch):
    # The profiler behind peak memory grows the heap, so a step counted
    # after it would be charged fresh pages it did not cause. Counts are too
    # noisy at test sizes to show that, so the order itself is checked.
    calls = []

    def spy(kind, measure):

        def record(step, *args):
            calls.append(kind)
            return measure(step, *args)

        return record

    monkeypatch.setattr(compare, 'page_faults',
                        spy('faults', compare.page_faults))
    monkeypatch.setattr(compare, 'peak_memory',
                        spy('memory', compare.peak_memory))
    result = run_comparison(
        BenchmarkSettings(
            depth=18, batch=1, resolution=(32, 32), repeats=1, warmup=0),
        log=lambda message: None)
    assert calls == ['faults'] * 3 + ['memory'] * 3
    assert set(result.page_faults) == set(result.peak_bytes) == {
        'ResNet-18', 'ECAResNet-18', 'SEResNet-18'
    }


def test_counts_of_a_small_model():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4, bias=False))
    c = count_complexity(model, torch.zeros(2, 3, 5, 5))
    conv = 2 * 8 * 5 * 5 * 3 * 9
    assert c.params == 8 * 27 + 8 + 16 + 32
    assert c.macs == conv + 2 * 4 * 8
    assert c.macs_by_type == {'Conv2d': conv, 'Linear': 64}
    elems = 2 * 8 * 5 * 5
    assert c.thop_ops == (conv + elems) + 4 * elems + elems + 16 * 26 + 64


def test_eca_resnet50_matches_the_paper_table():
    # ECA-Net50 in the paper: 24.37M parameters and 3.86G FLOPs, thop
    # counts of the ImageNet model in units of 2**20 and 2**30.
    backbone = build_backbone('ECAResNet-50')
    model = ImageNetClassifier(backbone, 2048)
    c = count_complexity(model, torch.zeros(1, 3, 224, 224))
    assert c.params == 25_557_112
    assert round(c.params / 2**20, 2) == 24.37
    assert round(c.thop_ops / 2**30, 2) == 3.86
    assert round(c.macs / 1e9, 2) == 4.09
    # the counts hook the norms, which sends the blocks down the paper's
    # formulation, and leave no hook behind
    assert not any(m._forward_hooks for m in model.modules())


@pytest.mark.parametrize('text, expected', [('800x1216', (800, 1216)),
                                            ('512', (512, 512)),
                                            ('64X32', (64, 32))])
def test_parse_resolution(text, expected):
    assert parse_resolution(text) == expected


@pytest.mark.parametrize('text', ['', '0x5', '8x', '1x2x3', 'big'])
def test_parse_resolution_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
        parse_resolution(text)
