"""Keras' `TimeDistributed(layer)`: the same layer, with the same weights, applied to every step.

The time axis is folded into the batch, (B, T, ...) -> (B·T, ...), the layer runs once, and the
result is unfolded again. A mask passes through unchanged (Keras).
"""

import torch

from .layer import Layer, Shape, keeps_config


class TimeDistributed(Layer):
    supports_masking = True

    @keeps_config
    def __init__(self, layer: Layer, name: str | None = None):
        if not isinstance(layer, Layer):
            raise TypeError(f"TimeDistributed wraps an rnnzoo layer, got {type(layer).__name__}")
        super().__init__(name)
        self.layer = layer
        self.built = layer.built

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) < 3:
            raise ValueError(f"{self.name} expects input of shape (batch, time, ...), got {input_shape}")
        if not self.layer.built:
            self.layer.build((None, *input_shape[2:]))
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        batch, steps, *rest = input_shape
        return (batch, steps, *self.layer.compute_output_shape((None, *rest))[1:])

    def forward(self, x: torch.Tensor, lengths=None, mask=None) -> torch.Tensor:
        if x.dim() < 3:
            raise ValueError(f"{self.name} expects input of shape (batch, time, ...), got {tuple(x.shape)}")
        self.build_for(x)
        batch, steps = x.shape[:2]
        y = self.layer(x.reshape(batch * steps, *x.shape[2:]))  # (B·T, ...)
        return y.reshape(batch, steps, *y.shape[1:])

    def extra_repr(self) -> str:
        return f"name={self.name!r}"
