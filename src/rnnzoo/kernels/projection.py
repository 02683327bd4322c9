"""The hoisted input projection of the fused path, `x @ kernel + bias` for all steps at once.

    forward   Y  = X W + b          X (B·T, F), W = kernel (F, G·U), b (G·U,)
    backward  dX = dY Wᵀ,  dW = Xᵀ dY,  db = Σ_rows dY

The same products autograd would run, on the fastest engine this torch has for them: oneDNN's
matmul (the op torch registers as `mkldnn::_linear_pointwise`, bias folded into the product) for
float32 on the CPU, measured 1.1–1.3x faster than the BLAS `mm` behind `@` on the 2-core AMD
machine of benchmarks/ (MKL does not pick its fastest code on AMD CPUs); `torch.addmm` / `mm`
otherwise. dW stays with `mm`: oneDNN wants both of its operands transposed there and was no faster.
"""

import torch

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


def _uses_onednn(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and x.dtype == torch.float32 and onednn_linear() is not None


def matmul_t(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x @ weight.T (+ bias) for 2-D x (M, K) and weight (N, K)."""
    if _uses_onednn(x):
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
        grad = grad.reshape(-1, grad.shape[-1]).contiguous()
        dx = dkernel = dbias = None
        if ctx.needs_input_grad[0]:
            dx = matmul_t(grad, kernel).view(x.shape)
        if ctx.needs_input_grad[1]:
            dkernel = x.reshape(-1, x.shape[-1]).t() @ grad
        if ctx.has_bias and ctx.needs_input_grad[2]:
            dbias = grad.sum(0)
        return dx, dkernel, dbias


def project(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x (..., F) @ kernel (F, N) + bias (N,) -> (..., N)."""
    return Projection.apply(x.contiguous(), kernel, bias)
