"""kernels.linear_scan: h_t = a_t h_{t-1} + b_t, native and in tensor steps, against a plain loop."""

import pytest
import torch

from rnnzoo import kernels
from rnnzoo.kernels import build


def plain(a, b, h0):
    h, out = h0, []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, dim=1)


@pytest.fixture(params=["native", "steps"])
def engine(request, native_kernels, kernel_settings):
    if request.param == "native" and build.native() is None:
        pytest.skip("the native kernels could not be built here")
    if request.param == "steps":
        kernel_settings(native=False)
    return request.param


def inputs(dtype, B=3, T=9, U=37):  # 37 units: a vector tail on every row
    g = torch.Generator().manual_seed(0)
    return (torch.rand(B, T, U, generator=g, dtype=dtype), torch.randn(B, T, U, generator=g, dtype=dtype),
            torch.randn(B, U, generator=g, dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_the_plain_loop_with_its_gradients(engine, dtype):
    a, b, h0 = (t.requires_grad_() for t in inputs(dtype))
    got = kernels.linear_scan(a, b, h0)
    want = plain(a, b, h0)
    tol = dict(atol=1e-12, rtol=1e-12) if dtype == torch.float64 else dict(atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(got, want, **tol)
    weights = torch.randn(got.shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
    for g, w in zip(torch.autograd.grad((got * weights).sum(), (a, b, h0)),
                    torch.autograd.grad((want * weights).sum(), (a, b, h0))):
        torch.testing.assert_close(g, w, **tol)


def test_gradcheck(engine):
    a, b, h0 = (t.requires_grad_() for t in inputs(torch.float64, B=2, T=5, U=3))
    assert torch.autograd.gradcheck(kernels.linear_scan, (a, b, h0))


def test_native_refuses_mismatched_shapes(native):
    a, b, h0 = inputs(torch.float32)
    with pytest.raises(RuntimeError, match=r"h0 must be \(B, U\) = \(3, 37\)"):
        native.linear_scan(a, b, h0[:, :5])
    with pytest.raises(RuntimeError, match="a and b must be"):
        native.linear_scan(a, b[:, :4], h0)
