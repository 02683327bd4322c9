"""The native kernels flush denormal floats to zero on their own threads (Intel cores run every
operation on a denormal about a hundred times slower) and hand the caller's setting back."""

import platform

import pytest
import torch

import rnnzoo
from rnnzoo.kernels import build

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or build.native() is None,
                                reason="the flush is x86's MXCSR, set by the native kernels")

SMALLEST_NORMAL = torch.finfo(torch.float32).tiny  # 2^-126: anything nonzero below it is denormal


def linear_rnn(recurrent: float) -> rnnzoo.SimpleRNN:
    """h_t = x_t + recurrent * h_{t-1}, one unit: the states are the inputs, scaled step by step."""
    layer = rnnzoo.SimpleRNN(1, activation="linear", use_bias=False, return_sequences=True, input_dim=1)
    with torch.no_grad():
        layer.cell.kernel.fill_(1.0)
        layer.cell.recurrent_kernel.fill_(recurrent)
    return layer


def test_states_that_fall_below_the_smallest_normal_float_become_zero():
    x = torch.zeros(2, 3, 1)
    x[:, 0, 0] = 4 * SMALLEST_NORMAL  # halved every step: 4, 2, then 1 smallest normal...
    x[1, 0, 0] = 3 * SMALLEST_NORMAL  # ...and 3, 1.5, 0.75: the last one denormal
    layer = linear_rnn(0.5)
    assert layer.plan(x).engine == "native"
    with torch.no_grad():
        h = layer(x)[:, :, 0]
    assert h[0].tolist() == [4 * SMALLEST_NORMAL, 2 * SMALLEST_NORMAL, SMALLEST_NORMAL]
    assert h[1].tolist() == [3 * SMALLEST_NORMAL, 1.5 * SMALLEST_NORMAL, 0.0]
    assert (torch.tensor(1.5 * SMALLEST_NORMAL) * 0.5).item() > 0  # what the caller's own arithmetic gives


def test_denormal_inputs_read_as_zero_and_gradients_that_fade_below_normal_are_zero():
    x = torch.zeros(1, 4, 1)
    x[0, 0, 0] = SMALLEST_NORMAL / 4  # a denormal input: read as zero
    x[0, 1, 0] = 1.0
    x.requires_grad_(True)
    h = linear_rnn(0.25)(x)
    assert h[0, 0, 0].item() == 0.0 and h[0, 1, 0].item() == 1.0
    (h[0, -1, 0] * (4 * SMALLEST_NORMAL)).backward()
    # dL/dx_t = 4 * 0.25^(3-t) smallest normals: 4, 1, then a quarter (denormal: zero), then zero
    assert x.grad[0, :, 0].tolist() == [0.0, 0.0, SMALLEST_NORMAL, 4 * SMALLEST_NORMAL]


def test_the_callers_denormals_are_left_as_they_were():
    layer = linear_rnn(0.5)
    with torch.no_grad():
        layer(torch.full((4, 5, 1), SMALLEST_NORMAL))
    tiny = torch.tensor([SMALLEST_NORMAL], dtype=torch.float32)
    assert (tiny / 4).item() == SMALLEST_NORMAL / 4 and (tiny / 4).item() > 0  # no flush here
