"""The kernels' float32 tanh and sigmoid (a vector at a time, the division as a refined reciprocal)
are within a few float32 ulps of float64 libm, over the whole range, saturation and row tails
included, and give every unit the same bits wherever it falls in a thread's row.

A SimpleRNN step with a zero recurrent kernel is h_t = activation(xp_t) exactly (xp_t + 0), so the
layer's outputs are the activation of the given values.
"""

import pytest
import torch

TANH, SIGMOID = 1, 2
SIMPLE = 0


def activation_through_the_kernel(native, values, code, split):
    B, T, units = values.shape
    return native.forward(kind=SIMPLE, recurrent_activation=SIGMOID, activation=code, xp=values,
                          U=torch.zeros(units, units), h0=torch.zeros(B, units), save=False, split=split).Y


@pytest.mark.parametrize("code, reference", [(TANH, torch.tanh), (SIGMOID, torch.sigmoid)])
@pytest.mark.parametrize("units", [37, 320])  # 37: a row's tail; 320 split by units on 2 threads: blocks of 40 units
def test_tanh_and_sigmoid_are_within_float32_rounding_of_float64(native, code, reference, units):
    generator = torch.Generator().manual_seed(units)
    values = torch.cat([torch.linspace(-100, 100, 4 * units),   # beyond the exp's clamps: saturated
                        torch.linspace(-9, 9, 4 * units),        # the curved part
                        torch.randn(4 * units, generator=generator) * 1e-3,  # near 0, where tanh(x) ~ x
                        torch.randn(4 * units, generator=generator) * 4])
    values = values.reshape(8, 2, units)
    want = reference(values.double())
    by_rows = activation_through_the_kernel(native, values, code, "rows")
    by_units = activation_through_the_kernel(native, values, code, "units")
    assert torch.equal(by_rows, by_units)
    # a few ulps of the result, or of 1 where 1 - e loses tanh's relative precision near 0
    torch.testing.assert_close(by_rows.double(), want, rtol=4 * 2**-24, atol=2**-23)
    assert by_rows.abs().max() <= 1 and not by_rows.isnan().any()


@pytest.mark.parametrize("code, reference", [(TANH, torch.tanh), (SIGMOID, torch.sigmoid)])
def test_nan_stays_nan_and_infinities_saturate_as_in_libm(native, code, reference):
    # The exp's clamp to [-87, 88] must not turn a NaN into a number (a diverged run would look sane).
    special = torch.tensor([float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 88.5, -88.5, 1e30])
    # one step (a NaN state would make every later product NaN); 8 units: an AVX2 vector, half an AVX-512 one
    values = special.reshape(1, 1, 8)
    got = activation_through_the_kernel(native, values, code, "rows")
    want = reference(values.double()).float()
    assert torch.equal(got.isnan(), want.isnan())
    finite = ~want.isnan()
    torch.testing.assert_close(got[finite], want[finite], rtol=4 * 2**-24, atol=2**-23)
