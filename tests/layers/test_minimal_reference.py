"""rnnzoo's MinGRU and MinLSTM against the reference implementation, mingru-pytorch 0.2.1, weight for weight."""

import pytest
import torch

import rnnzoo

reference = pytest.importorskip("minGRU_pytorch", reason="mingru-pytorch comes with the test extra")
from minGRU_pytorch.minGRU import minGRU  # noqa: E402
from minGRU_pytorch.minLSTM import minLSTM  # noqa: E402


@pytest.mark.parametrize("ours, theirs", [(rnnzoo.MinGRU, minGRU), (rnnzoo.MinLSTM, minLSTM)])
def test_same_weights_same_outputs_and_gradients(ours, theirs):
    torch.manual_seed(0)
    units = 12
    mine, ref = ours(units, use_bias=False, return_sequences=True), theirs(units).double()
    mine.build((None, None, units))
    mine.double()
    weight = next(ref.parameters())  # to_hidden_and_gate (2U, U) or to_hidden_and_f_i_gate (3U, U)
    with torch.no_grad():
        mine.kernel.copy_(weight.T)  # Keras layout (F, G·U), the same block order
    x = torch.randn(3, 40, units, dtype=torch.float64, requires_grad=True)
    a, b = mine(x), ref(x)
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    (ga,), (gb,) = torch.autograd.grad(a.square().sum(), [x]), torch.autograd.grad(b.square().sum(), [x])
    torch.testing.assert_close(ga, gb, rtol=1e-9, atol=1e-11)


def test_the_bench_compares_both_on_small_sizes():
    from rnnzoo.bench.minimal import REFERENCE, bench_cell, format_row

    row = bench_cell("MinGRU", batch=4, steps=16, units=8, rounds=1, per_round=1)
    assert set(row.train_ms) == {"rnnzoo", REFERENCE} and all(ms > 0 for ms in row.infer_ms.values())
    assert "rnnzoo's inference" in format_row(row)


def test_the_bench_leaves_each_rounds_first_call_untimed(monkeypatch):
    """It meets the caches the other contender left: the steady state of many calls is what is timed."""
    from rnnzoo.bench import minimal

    clock = {"now": 0.0, "calls": 0}

    def call():  # the first call of every round takes a thousand seconds, the others one
        clock["now"] += 1000.0 if clock["calls"] % 4 == 0 else 1.0
        clock["calls"] += 1

    monkeypatch.setattr(minimal.time, "perf_counter", lambda: clock["now"])
    assert minimal._times(call, 3) == [1.0, 1.0, 1.0] and minimal._times(call, 3) == [1.0, 1.0, 1.0]
