"""Keras' core layers used around recurrent ones: Input, Dense, Dropout, Activation."""

import torch
from torch import nn

from ..kernels import dropout
from . import activations, initializers
from .layer import Layer, Shape, keeps_config


class Input:
    """Keras' `Input(shape=(None, 28))`: declares the per-sample input shape of a Sequential.

    Not a layer: it holds no weights and does nothing at run time; `Sequential` reads its shape
    to build every layer. `None` marks a size fixed only at run time (any number of time steps).
    """

    def __init__(self, shape: tuple[int | None, ...], name: str | None = None):
        shape = tuple(shape)
        if not shape or any(d is not None and (not isinstance(d, int) or d <= 0) for d in shape):
            raise ValueError(f"Input shape must be positive integers or None, got {shape}")
        if shape[-1] is None:
            raise ValueError(f"Input shape must fix the feature size (the last entry), got {shape}")
        self.shape = shape
        self.name = name

    def __repr__(self) -> str:
        return f"Input(shape={self.shape})"


class Dense(Layer):
    """Keras' `Dense(units)`: y = activation(x @ kernel + bias), applied to the last axis.

    kernel (F, units) glorot_uniform, bias (units,) zeros — Keras' layout, the transpose of
    torch.nn.Linear's weight.
    """

    supports_masking = True  # the mask passes through unchanged, as in Keras

    @keeps_config
    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 input_dim: int | None = None, name: str | None = None):
        super().__init__(name)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        if input_dim is not None:
            self.build((None, input_dim))

    def build(self, input_shape: Shape) -> None:
        self.kernel = nn.Parameter(torch.empty(input_shape[-1], self.units))
        self.bias = nn.Parameter(torch.empty(self.units)) if self.use_bias else None
        self.kernel_initializer(self.kernel)
        if self.bias is not None:
            self.bias_initializer(self.bias)
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape[:-1], self.units)

    def forward(self, x: torch.Tensor, lengths=None) -> torch.Tensor:
        self.build_for(x)
        if self.bias is None:
            return self.activation(x @ self.kernel)
        if x.dim() == 2:  # one op instead of two: after a recurrent layer's kernel, each op costs more than its work
            return self.activation(torch.addmm(self.bias, x, self.kernel))
        return self.activation(x @ self.kernel + self.bias)


class Dropout(Layer):
    """Keras' `Dropout(rate)`: zeroes each element with probability `rate` in training and scales
    the rest by 1/(1 - rate); the identity at inference. The mask is counter-based (a hash of each
    element's index and a seed drawn from torch's generator), see rnnzoo/kernels/dropout.py."""

    supports_masking = True

    @keeps_config
    def __init__(self, rate: float, name: str | None = None):
        super().__init__(name)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.built = True

    def forward(self, x: torch.Tensor, lengths=None) -> torch.Tensor:
        return dropout.dropout(x, self.rate) if self.training else x


class Activation(Layer):
    """Keras' `Activation(activation)`: applies a named activation (see activations.py) elementwise."""

    supports_masking = True

    @keeps_config
    def __init__(self, activation, name: str | None = None):
        super().__init__(name)
        self.activation = activations.get(activation)
        self.built = True

    def forward(self, x: torch.Tensor, lengths=None) -> torch.Tensor:
        return self.activation(x)
