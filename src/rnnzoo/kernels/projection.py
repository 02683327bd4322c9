"""The hoisted input projection of the fused path, `x @ kernel + bias` for all steps at once.

    forward      Y  = X W + b          X (B·T, F), W = kernel (F, G·U), b (G·U,)
    input_grad   dX = dY Wᵀ
    weight_grad  dW = Xᵀ dY,  db = Σ_rows dY

The same products autograd would run, float32 on the CPU, on whichever of these engines
calibration.py found fastest for the shape on this machine (`configure(gemm=...)` names one), but
for the forward, which keeps to the native GEMM where it is built, as the in-loop projection does:
  "native"  rnnzoo's packed-panel GEMM (native/matmul.cpp, extension built): W is small next to X,
            so packing it per call is cheap, and the bias is the products' starting value; the
            weight gradient (depth B·T) packs Xᵀ in strips and dY in blocks, and returns
            db = Σ_rows dY from the packed blocks on the way;
  "onednn"  oneDNN's matmul (`mkldnn::_linear_pointwise`, bias folded in), forward and input
            gradient (for Xᵀ dY it wanted both operands transposed and was no faster);
  "blas"    `torch.addmm` / `mm` (MKL in torch's x86 wheels); the only engine off the CPU or float32.
Speeds: docs/performance.md.
"""

import torch

from . import build, calibration, settings

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


def engines(x: torch.Tensor, product: str) -> tuple[str, ...]:
    """The engines that can run `product` on x; the first is used where there is nothing to time."""
    if x.device.type != "cpu" or x.dtype != torch.float32:
        return ("blas",)
    native = ("native",) if build.native() is not None else ()
    transposed = product in ("weight_grad", "recurrent_grad")  # Xᵀ dY: oneDNN has no such product
    onednn = ("onednn",) if not transposed and onednn_linear() is not None else ()
    return native + onednn + ("blas",)


def engine(x: torch.Tensor, product: str, rows: int, depth: int, width: int, runners: dict) -> str:
    """The engine to run `product` of this shape: the one configured, else the calibrated one."""
    if (chosen := decided(x, product, rows, depth, width)) is not None:
        return chosen
    available = engines(x, product)
    return calibration.choose(product, rows, depth, width, {name: runners[name] for name in available})


def decided(x: torch.Tensor, product: str, rows: int, depth: int, width: int) -> str | None:
    """engine's answer where it needs no timing (None: calibration has yet to time the shape)."""
    available = engines(x, product)
    wanted = settings.current().gemm
    if wanted in available:
        return wanted
    if available[0] != "native" or product == "forward":
        # Without the native GEMM: oneDNN where torch has it, else BLAS. The forward runs hoisted only
        # when asked to (configure(projection="hoisted")) and stays on the native GEMM the in-loop
        # projection uses, so that the two give the same bits.
        return available[0]
    return calibration.known(product, rows, depth, width, available)


def first(x: torch.Tensor, rows: int) -> torch.Tensor:
    """x's first rows (calibration times a product on part of it); x itself when that is all of it,
    since even a view is a torch call, dearer than it looks between two kernels."""
    return x if rows == x.shape[0] else x[:rows]


def matmul_t(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
             product: str = "forward") -> torch.Tensor:
    """x @ weight.T (+ bias) for 2-D x (M, K) and weight (N, K)."""
    runners = {
        "native": lambda rows: build.native().matmul(first(x, rows), weight.t(), bias),
        "onednn": lambda rows: onednn_linear()(first(x, rows), weight, bias, "none", [], ""),
        "blas": lambda rows: first(x, rows) @ weight.t() if bias is None else torch.addmm(bias, first(x, rows),
                                                                                           weight.t()),
    }
    which = engine(x, product, x.shape[0], x.shape[1], weight.shape[0], runners)
    return runners[which](x.shape[0])


def weight_gradient(rows: torch.Tensor, grad: torch.Tensor,
                    sums: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(rowsᵀ @ grad, grad's column sums) for rows (M, F) and grad (M, N). sums=False: no bias wants
    them, and BLAS skips that pass over grad (the native GEMM takes them from its packed blocks anyway)."""
    which, runners = weight_gradient_engine(rows, grad, sums)
    return runners[which](rows.shape[0])


def weight_gradient_engine(rows: torch.Tensor, grad: torch.Tensor, sums: bool = True) -> tuple[str, dict]:
    """The engine weight_gradient(rows, grad) runs on, and the runners by engine."""
    runners = {
        "native": lambda n: build.native().matmul_tn(first(rows, n), first(grad, n)),
        "blas": lambda n: (first(rows, n).t() @ first(grad, n), first(grad, n).sum(0) if sums else None),
    }
    return engine(grad, "weight_grad", rows.shape[0], rows.shape[1], grad.shape[1], runners), runners


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
        dx = matmul_t(grad, kernel, product="input_grad").view(x.shape)
    if needs[1]:
        dkernel, column_sums = weight_gradient(x.reshape(-1, x.shape[-1]), grad, sums=has_bias and needs[2])
        dbias = column_sums if has_bias and needs[2] else None
    elif has_bias and needs[2]:
        dbias = grad.sum(0)
    return dx, dkernel, dbias


def project(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x (..., F) @ kernel (F, N) + bias (N,) -> (..., N)."""
    return Projection.apply(x.contiguous(), kernel, bias)
