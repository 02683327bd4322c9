"""Low-memory training (`configure(memory="low")`): the same values and gradients as keeping every
step, with far less kept for the backward pass."""

import pytest
import torch

import rnnzoo
from rnnzoo.kernels import route

LAYERS = {"SimpleRNN": rnnzoo.SimpleRNN, "LSTM": rnnzoo.LSTM, "GRU": rnnzoo.GRU}
TOLERANCE = {torch.float64: dict(atol=1e-11, rtol=1e-10), torch.float32: dict(atol=1e-5, rtol=1e-4)}


def outputs_and_gradients(layer, x, lengths, h0):
    x, h0 = x.clone().requires_grad_(), [h.clone().requires_grad_() for h in h0]
    out = layer(x, lengths=lengths, initial_state=h0)
    out = out if isinstance(out, tuple) else (out,)
    weights = torch.Generator().manual_seed(1)
    loss = sum((o * torch.randn(o.shape, generator=weights, dtype=o.dtype)).sum() for o in out)
    grads = torch.autograd.grad(loss, [x, *h0, *layer.parameters()])
    return [o.detach() for o in out], grads


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("sequences", [False, True])
def test_low_memory_gives_the_same_values_and_gradients(kind, dtype, padded, sequences, kernel_settings):
    torch.manual_seed(0)
    batch, steps, features, units = 4, 50, 3, 8
    layer = LAYERS[kind](units, input_dim=features, return_sequences=sequences, return_state=True,
                         backend="fused").to(dtype)
    x = torch.randn(batch, steps, features, dtype=dtype)
    lengths = torch.tensor([50, 3, 17, 36]) if padded else None  # ends inside, at and before segments
    h0 = [torch.randn(batch, units, dtype=dtype) for _ in range(2 if kind == "LSTM" else 1)]
    kernel_settings(memory="low")
    plan = layer.plan(x.requires_grad_(), lengths)
    assert plan.segment_steps == 8  # ceil(sqrt(50))
    low = outputs_and_gradients(layer, x, lengths, h0)
    kernel_settings(memory="full")
    assert layer.plan(x, lengths).segment_steps is None
    full = outputs_and_gradients(layer, x, lengths, h0)
    for a, b in zip(low[0] + list(low[1]), full[0] + list(full[1])):
        torch.testing.assert_close(a, b, **TOLERANCE[dtype])


def saved_bytes(layer, x) -> int:
    """What autograd keeps for the backward pass of one forward."""
    total = [0]

    def pack(t):
        total[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        layer(x.requires_grad_())
    return total[0]


def test_low_memory_keeps_a_fraction_and_auto_switches_by_size(kernel_settings, monkeypatch):
    torch.manual_seed(0)
    layer, x = rnnzoo.LSTM(32, input_dim=4, return_sequences=True), torch.randn(8, 400, 4)
    kernel_settings(memory="full")
    full = saved_bytes(layer, x)
    kernel_settings(memory="low")
    low = saved_bytes(layer, x)
    assert low < full / 3, (low, full)  # gates of 20 steps at a time instead of 400 (outputs are the layer's)
    kernel_settings(memory="auto")
    assert layer.plan(x).segment_steps is None  # far under LOW_MEMORY_BYTES
    monkeypatch.setattr(route, "LOW_MEMORY_BYTES", 1 << 10)
    assert layer.plan(x).segment_steps == 20
    with torch.no_grad():  # inference keeps nothing anyway
        assert layer.plan(x).segment_steps is None
    with pytest.raises(ValueError, match="memory must be one of"):
        kernel_settings(memory="small")


def test_the_kernels_run_under_python_saved_tensor_hooks():
    # ATen copies the caller's thread-local state, Python hooks included, into the kernels' worker
    # threads, which takes the GIL: the native entry points must let go of it, or this deadlocks.
    # Run in a child with a deadline, so that a regression fails instead of hanging the suite.
    import subprocess
    import sys

    code = ("import torch, rnnzoo\n"
            "layer, x = rnnzoo.LSTM(32, input_dim=4, return_sequences=True), torch.randn(8, 300, 4)\n"
            "with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):\n"
            "    layer(x.requires_grad_()).sum().backward()\n"
            "print('done')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and run.stdout.strip() == "done", run.stderr[-2000:]
