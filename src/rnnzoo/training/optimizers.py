"""Keras' Adam (the tf.keras legacy ``optimizer_v2`` semantics) as a torch optimizer.

``torch.optim.Adam`` is not the same optimizer: torch adds epsilon to the
bias-corrected ``sqrt(v_hat)``, Keras adds it to the raw ``sqrt(v)`` and folds
the bias corrections into the step size. With Keras' default epsilon=1e-7 the
two drift apart whenever ``sqrt(v)`` is small (tiny or sparse gradients), so a
Keras-exact reproduction needs Keras' update. Per step, with ``iterations``
counting the steps already taken::

    lr_t  = learning_rate / (1 + decay * iterations)        # legacy inverse-time decay
    t     = iterations + 1
    m     = beta_1 * m + (1 - beta_1) * g
    v     = beta_2 * v + (1 - beta_2) * g^2
    alpha = lr_t * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    param = param - alpha * m / (sqrt(v) + epsilon)

Gradients are clipped first, per variable, as Keras does: ``clipvalue`` clips
each element to [-clipvalue, clipvalue], then ``clipnorm`` rescales
``g <- g * clipnorm / max(||g||_2, clipnorm)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch


def _check(name: str, value, ok: bool, expected: str) -> None:
    if not ok:
        raise ValueError(f"{name}: expected {expected}, got {value!r}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _validate(learning_rate, beta_1, beta_2, epsilon, decay, clipnorm, clipvalue) -> None:
    _check("learning_rate", learning_rate, _is_number(learning_rate) and learning_rate >= 0, "a finite float >= 0")
    _check("beta_1", beta_1, _is_number(beta_1) and 0 <= beta_1 < 1, "a float in [0, 1)")
    _check("beta_2", beta_2, _is_number(beta_2) and 0 <= beta_2 < 1, "a float in [0, 1)")
    _check("epsilon", epsilon, _is_number(epsilon) and epsilon >= 0, "a finite float >= 0")
    _check("decay", decay, _is_number(decay) and decay >= 0, "a finite float >= 0")
    for name, clip in (("clipnorm", clipnorm), ("clipvalue", clipvalue)):
        _check(name, clip, clip is None or (_is_number(clip) and clip > 0), "None or a finite float > 0")


def clip_gradient(grad: torch.Tensor, clipnorm: float | None, clipvalue: float | None) -> torch.Tensor:
    """Keras' per-variable clipping, in Keras' order (value first, then norm).

    clipvalue: g <- clamp(g, -clipvalue, clipvalue)
    clipnorm:  g <- g * clipnorm / max(||g||_2, clipnorm)   (tf.clip_by_norm)
    Returns a new tensor; ``param.grad`` is left as the backward pass wrote it.
    """
    if clipvalue is not None:
        grad = grad.clamp(-clipvalue, clipvalue)
    if clipnorm is not None:
        # No .item(): the rescale stays on the device, so clipping adds no host sync.
        norm = torch.linalg.vector_norm(grad)
        grad = grad * (clipnorm / norm.clamp(min=clipnorm))
    return grad


class KerasAdam(torch.optim.Optimizer):
    """Adam with tf.keras' update rule, legacy ``decay`` and clipping (see module docstring).

    Hyperparameters live in each param group under ``lr`` (torch's name, so torch
    LR schedulers keep working), ``beta_1``, ``beta_2``, ``epsilon``, ``decay``,
    ``clipnorm`` and ``clipvalue``. The step counter ``iterations`` is one for the
    whole optimizer, as in Keras, and is stored in ``self.state`` so it travels
    with ``state_dict()``.
    """

    def __init__(
        self,
        params: Iterable,
        learning_rate: float = 1e-3,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        decay: float = 0.0,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
    ) -> None:
        _validate(learning_rate, beta_1, beta_2, epsilon, decay, clipnorm, clipvalue)
        defaults = dict(
            lr=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            decay=decay, clipnorm=clipnorm, clipvalue=clipvalue,
        )
        super().__init__(params, defaults)

    @property
    def iterations(self) -> int:
        """Number of steps taken so far (Keras' ``optimizer.iterations``)."""
        return self.state.get("iterations", 0)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        # A Python int, so the step size below is a host-side float: no device sync.
        iterations = self.iterations
        t = iterations + 1
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if any(p.grad.is_sparse for p in params):
                raise RuntimeError("KerasAdam does not support sparse gradients")
            grads = [clip_gradient(p.grad, group["clipnorm"], group["clipvalue"]) for p in params]
            ms, vs = self._moments(params)

            beta_1, beta_2 = group["beta_1"], group["beta_2"]
            lr_t = group["lr"] / (1.0 + group["decay"] * iterations)
            alpha = lr_t * math.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)

            # lerp(m, g, w) = m + w * (g - m) is the form TF's ApplyAdam kernel uses;
            # algebraically m*beta + (1 - beta)*g.
            torch._foreach_lerp_(ms, grads, 1.0 - beta_1)
            torch._foreach_lerp_(vs, torch._foreach_mul(grads, grads), 1.0 - beta_2)
            denom = torch._foreach_sqrt(vs)
            torch._foreach_add_(denom, group["epsilon"])
            torch._foreach_addcdiv_(params, ms, denom, value=-alpha)

        self.state["iterations"] = t
        return loss

    def _moments(self, params: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """First and second moment slots (Keras' ``m`` and ``v``), created as zeros."""
        for p in params:
            state = self.state[p]
            if not state:
                state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return [self.state[p]["m"] for p in params], [self.state[p]["v"] for p in params]
