"""Keras' weight initialisers, with Keras' fan convention.

Keras stores a kernel as (fan_in, fan_out) — `x @ kernel` — the transpose of torch.nn.Linear, so
fans are read from dims 0 and 1 here rather than with torch.nn.init's convention. Every
initialiser fills a tensor in place from torch's global generator (seed it for reproducibility).
"""

import math
from collections.abc import Callable

import torch

Initializer = Callable[[torch.Tensor], None]

# Keras' truncated normal is cut at two standard deviations; this rescales its stddev so the
# truncated distribution has the variance asked for (the constant Keras uses).
_TRUNCATED_STDDEV_FIX = 0.87962566103423978


def _fans(shape: torch.Size) -> tuple[int, int]:
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    def init(tensor: torch.Tensor) -> None:
        fan_in, fan_out = _fans(tensor.shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        variance = scale / max(1.0, fan)
        with torch.no_grad():
            if distribution == "uniform":
                limit = math.sqrt(3.0 * variance)
                tensor.uniform_(-limit, limit)
            else:
                std = math.sqrt(variance) / _TRUNCATED_STDDEV_FIX
                torch.nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)

    return init


def orthogonal(tensor: torch.Tensor) -> None:
    """Keras' Orthogonal(gain=1): QR of a Gaussian matrix, signs fixed by diag(R).

    For a recurrent kernel of shape (units, k·units) the rows come out orthonormal.
    torch.nn.init.orthogonal_ runs this very algorithm over the flattened (rows, cols) matrix.
    """
    torch.nn.init.orthogonal_(tensor)


def zeros(tensor: torch.Tensor) -> None:
    torch.nn.init.zeros_(tensor)


def ones(tensor: torch.Tensor) -> None:
    torch.nn.init.ones_(tensor)


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": _variance_scaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": _variance_scaling(1.0, "fan_avg", "normal"),
    "he_uniform": _variance_scaling(2.0, "fan_in", "uniform"),
    "he_normal": _variance_scaling(2.0, "fan_in", "normal"),
    "lecun_uniform": _variance_scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": _variance_scaling(1.0, "fan_in", "normal"),
    "orthogonal": orthogonal,
    "zeros": zeros,
    "ones": ones,
}


def get(initializer: str | Initializer) -> Initializer:
    """The function for a Keras initialiser name, or a callable `fill(tensor)` as is."""
    if callable(initializer):
        return initializer
    if isinstance(initializer, str) and initializer in INITIALIZERS:
        return INITIALIZERS[initializer]
    raise ValueError(
        f"unknown initializer {initializer!r}; expected one of {', '.join(sorted(INITIALIZERS))} "
        "or a callable that fills a tensor in place"
    )
