"""Keras' activation functions, looked up by the names Keras accepts.

A recurrent layer takes `activation="relu"` exactly as Keras does; `None` and `"linear"` mean the
identity. A callable is used as it is, so any elementwise torch function works too.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F

Activation = Callable[[torch.Tensor], torch.Tensor]


def linear(x: torch.Tensor) -> torch.Tensor:
    return x


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    # Keras 3 definition: relu6(x + 3) / 6 (Keras 2 used clip(0.2 x + 0.5, 0, 1)).
    return F.relu6(x + 3.0) / 6.0


def hard_silu(x: torch.Tensor) -> torch.Tensor:
    return x * hard_sigmoid(x)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)  # Keras' default negative_slope is 0.2


def softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x, dim=-1)  # Keras' default axis: the last


ACTIVATIONS: dict[str, Activation] = {
    "linear": linear,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "relu": torch.relu,
    "relu6": F.relu6,
    "leaky_relu": leaky_relu,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "silu": F.silu,
    "swish": F.silu,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "mish": F.mish,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "log_sigmoid": F.logsigmoid,
    "exponential": torch.exp,
    "softmax": softmax,
}


def get(activation: str | Activation | None) -> Activation:
    """The function for a Keras activation name (or None for linear, or a callable as is)."""
    if activation is None:
        return linear
    if callable(activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(
        f"unknown activation {activation!r}; expected one of {', '.join(sorted(ACTIVATIONS))}, "
        "None, or a callable"
    )


def builtin_name(activation: Activation | None) -> str | None:
    """The Keras name of a built-in activation function (by identity), else None."""
    return next((name for name, function in ACTIVATIONS.items() if function is activation), None)


def name_of(activation: str | Activation | None) -> str:
    """A printable name for an activation argument (used in configs and repr)."""
    if activation is None:
        return "linear"
    if isinstance(activation, str):
        return activation
    return getattr(activation, "__name__", repr(activation))
