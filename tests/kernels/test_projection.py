"""The fused path's input projection: the same products as `x @ kernel + bias`, on every engine."""

import pytest
import torch

from rnnzoo.kernels import projection


@pytest.fixture(params=["native", "onednn", "blas"])
def engine(request, native_kernels, kernel_settings):
    """Each GEMM in turn, named with configure(gemm=...) (oneDNN's weight gradient is timed instead)."""
    if request.param not in projection.engines(torch.ones(1), "forward"):
        pytest.skip(f"{request.param} can't run here")  # the other engines still run
    kernel_settings(gemm=request.param)
    return request.param


@pytest.mark.parametrize("bias", [True, False])
def test_matches_autograd_of_the_plain_product(engine, bias):
    torch.manual_seed(0)
    x = torch.randn(64, 28, 256, requires_grad=True)
    kernel = torch.randn(256, 768, requires_grad=True) * 0.05
    b = torch.randn(768, requires_grad=True) if bias else None
    grad = torch.randn(64, 28, 768)
    y = projection.project(x, kernel, b)
    inputs = [x, kernel] + ([b] if bias else [])
    dy = torch.autograd.grad(y, inputs, grad)
    wide = [t.double() for t in inputs]  # the reference in float64: no float32 round-off of its own
    expected = wide[0] @ wide[1] + (wide[2] if bias else 0)
    de = torch.autograd.grad(expected, wide, grad.double())
    torch.testing.assert_close(y.double(), expected, rtol=1e-5, atol=1e-5)
    # dX sums 768 products, dW 1,792 (|dW| ~ 42): float32 accumulation errs by up to ~1e-4 there
    for got, want in zip(dy, de):
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=5e-4)


def test_float64_gradcheck(engine):
    x = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    kernel = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(projection.project, (x, kernel, b))


def test_non_contiguous_input_and_data_without_grad(engine):
    x = torch.randn(28, 8, 16).transpose(0, 1)  # (B, T, F) view, as a layer may receive it
    kernel = torch.randn(16, 12, requires_grad=True)
    y = projection.project(x, kernel, None)
    torch.testing.assert_close(y, x @ kernel)
    y.sum().backward()
    torch.testing.assert_close(kernel.grad, x.reshape(-1, 16).t() @ torch.ones(8 * 28, 12))


def test_blas_skips_the_column_sums_when_no_bias_wants_them(kernel_settings):
    kernel_settings(gemm="blas")
    rows, grad = torch.randn(300, 5), torch.randn(300, 7)
    weight, sums = projection.weight_gradient(rows, grad, sums=False)
    assert sums is None
    torch.testing.assert_close(weight, rows.t() @ grad)
    weight, sums = projection.weight_gradient(rows, grad)
    torch.testing.assert_close(sums, grad.sum(0))
