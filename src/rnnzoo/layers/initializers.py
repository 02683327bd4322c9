"""Keras' weight initialisers, with Keras' fan convention.

Keras stores a kernel as (fan_in, fan_out) — `x @ kernel` — the transpose of torch.nn.Linear, so
fans are read from dims 0 and 1 here rather than with torch.nn.init's convention. Every
initialiser fills a tensor in place from torch's global generator (seed it for reproducibility).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class VarianceScaling:
    """Keras' VarianceScaling: variance scale / fan, from a uniform or a truncated normal
    distribution. (A class, not a closure, so that a layer holding one pickles: `torch.save(model)`.)"""

    scale: float
    mode: str  # "fan_in", "fan_out" or "fan_avg"
    distribution: str  # "uniform" or "normal" (truncated)

    def __call__(self, tensor: torch.Tensor) -> None:
        fan_in, fan_out = _fans(tensor.shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        with torch.no_grad():
            if self.distribution == "uniform":
                limit = math.sqrt(3.0 * variance)
                tensor.uniform_(-limit, limit)
            else:
                std = math.sqrt(variance) / _TRUNCATED_STDDEV_FIX
                torch.nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)


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
    "glorot_uniform": VarianceScaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": VarianceScaling(1.0, "fan_avg", "normal"),
    "he_uniform": VarianceScaling(2.0, "fan_in", "uniform"),
    "he_normal": VarianceScaling(2.0, "fan_in", "normal"),
    "lecun_uniform": VarianceScaling(1.0, "fan_in", "uniform"),
    "lecun_normal": VarianceScaling(1.0, "fan_in", "normal"),
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
