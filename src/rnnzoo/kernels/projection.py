"""The hoisted input projection of the fused path, `x @ kernel + bias` for all steps at once.

    forward   Y  = X W + b          X (B·T, F), W = kernel (F, G·U), b (G·U,)
    backward  dX = dY Wᵀ,  dW = Xᵀ dY,  db = Σ_rows dY

The same products autograd would run, on the fastest engine at hand, in this order:
  "native"  rnnzoo's packed-panel GEMM (native/matmul.cpp; float32 on the CPU, extension built):
            W is small next to X, so packing it per call is cheap, and the bias is the products'
            starting value;
  "onednn"  oneDNN's matmul (`mkldnn::_linear_pointwise`, bias folded in), float32 on the CPU;
  "blas"    `torch.addmm` / `mm` otherwise (MKL does not pick its fastest code on AMD CPUs).
dW = Xᵀ dY, whose depth is B·T, runs on the native `matmul_tn` (X read in place, dY packed in
blocks), which also returns db = Σ_rows dY from the packed blocks, or on `mm` (oneDNN wanted both
operands transposed there and was no faster). Speeds: docs/performance.md.
"""

import torch

from . import build

_onednn: dict = {}  # "linear": the op, or None once found missing or broken


def onednn_linear():
    """torch.ops.mkldnn._linear_pointwise if this torch has a working one, else None (checked once)."""
    if "linear" not in _onednn:
        _onednn["linear"] = None
        try:
            if torch.backends.mkldnn.is_available():
                op = torch.ops.mkldnn._linear_pointwise
                x, w, b = torch.ones(2, 3), torch.ones(4, 3), torch.ones(4)
                if torch.equal(op(x, w, b, "none", [], ""), torch.full((2, 4), 4.0)):
                    _onednn["linear"] = op
        except (AttributeError, RuntimeError):
            pass
    return _onednn["linear"]


def engine(x: torch.Tensor) -> str:
    """Which engine runs the products for x: "native", "onednn" or "blas"."""
    if x.device.type == "cpu" and x.dtype == torch.float32:
        if build.native() is not None:
            return "native"
        if onednn_linear() is not None:
            return "onednn"
    return "blas"


def matmul_t(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x @ weight.T (+ bias) for 2-D x (M, K) and weight (N, K)."""
    which = engine(x)
    if which == "native":
        return build.native().matmul(x, weight.t(), bias)
    if which == "onednn":
        return onednn_linear()(x, weight, bias, "none", [], "")
    return x @ weight.t() if bias is None else torch.addmm(bias, x, weight.t())


class Projection(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kernel, bias):
        ctx.save_for_backward(x, kernel)
        ctx.has_bias = bias is not None
        rows = x.reshape(-1, x.shape[-1])
        y = matmul_t(rows, kernel.t(), bias)
        return y.view(*x.shape[:-1], kernel.shape[1])

    @staticmethod
    def backward(ctx, grad):
        x, kernel = ctx.saved_tensors
        return gradients(x, kernel, ctx.has_bias, grad, ctx.needs_input_grad)


def gradients(x, kernel, has_bias: bool, grad, needs) -> tuple:
    """(dx, dkernel, dbias) of y = x @ kernel + bias given dy = grad, each None unless `needs` says so."""
    grad = grad.reshape(-1, grad.shape[-1]).contiguous()
    dx = dkernel = dbias = None
    if needs[0]:
        dx = matmul_t(grad, kernel).view(x.shape)
    rows = x.reshape(-1, x.shape[-1])
    if needs[1] and engine(grad) == "native":  # dW and, on the way, db
        dkernel, column_sums = build.native().matmul_tn(rows, grad)
        dbias = column_sums if has_bias and needs[2] else None
    elif needs[1]:
        dkernel = rows.t() @ grad
    if has_bias and needs[2] and dbias is None:
        dbias = grad.sum(0)
    return dx, dkernel, dbias


def project(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x (..., F) @ kernel (F, N) + bias (N,) -> (..., N)."""
    return Projection.apply(x.contiguous(), kernel, bias)
