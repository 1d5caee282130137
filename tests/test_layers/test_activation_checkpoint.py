import torch

from mmdet_eca.layers import activation_checkpoint
from mmdet_eca.layers.activation_checkpoint import maybe_checkpoint


def test_recomputes_in_backward_only_when_asked_and_useful(monkeypatch):
    calls = []

    def forward(x):
        calls.append(x.requires_grad)
        return (x * 2).sin()

    x = torch.randn(3, requires_grad=True)
    expected = (x * 2).sin()
    for with_cp, runs in ((True, 2), (False, 1)):
        calls.clear()
        out = maybe_checkpoint(forward, x, with_cp)
        torch.testing.assert_close(out, expected)
        out.sum().backward()
        assert len(calls) == runs
    calls.clear()
    checkpointed = []
    monkeypatch.setattr(activation_checkpoint.cp, 'checkpoint',
                        lambda *a, **k: checkpointed.append(a))
    maybe_checkpoint(forward, x.detach(), True)  # nothing to recompute for
    assert calls == [False] and checkpointed == []
