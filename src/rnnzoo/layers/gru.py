"""Gated Recurrent Unit, as Keras computes it (Cho et al., 2014, https://arxiv.org/abs/1406.1078).

Blocks in Keras' order z (update), r (reset), h (candidate). With reset_after=True (Keras' default,
cuDNN's convention; arXiv v3) the input and the recurrent projection each have their own bias:

    x_z, x_r, x_h = x_t W + b_in                 b_in  = bias[0]
    h_z, h_r, h_h = h_{t-1} U + b_rec            b_rec = bias[1]
    z   = recurrent_activation(x_z + h_z)
    r   = recurrent_activation(x_r + h_r)
    hh  = activation(x_h + r * h_h)              reset applied after the matrix product
    h_t = z * h_{t-1} + (1 - z) * hh

With reset_after=False (arXiv v1) there is one bias (3U,) and hh = activation(x_h + (r * h_{t-1}) U_h).
W = kernel (F, 3U), U = recurrent_kernel (U, 3U). Parameters: 3U·(F + U + 2) with reset_after.
"""

import dataclasses

from .. import kernels
from . import activations
from .cell import RecurrentCell, gate_matmul
from .layer import keeps_config
from .rnn import RNN


class GRUCell(RecurrentCell):
    gates = 3
    state_count = 1
    fused_kind = kernels.Kind.GRU  # the kernels compute reset_after=True (see record)
    record_is_views = True  # its biases are bias[0] and bias[1]

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0, reset_after=True, **weight_options):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, dropout, recurrent_dropout, **weight_options)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = reset_after

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def recurrent_bias(self):
        return self.bias[1] if self.bias is not None and self.reset_after else None

    def record(self):
        spec = super().record()
        if self.reset_after:
            return spec
        return dataclasses.replace(spec, kind=None, reason="GRU(reset_after=False) multiplies (r * h) by U inside "
                                                           "the step; only reset_after=True is fused")

    def step(self, x_projected, state, recurrent_masks):
        (h,) = state
        x_z, x_r, x_h = x_projected.chunk(3, dim=-1)
        if self.reset_after:
            recurrent = gate_matmul(h, self.recurrent_kernel, recurrent_masks)  # (B, 3U)
            if self.bias is not None:
                recurrent = recurrent + self.bias[1]
            h_z, h_r, h_h = recurrent.chunk(3, dim=-1)
            z = self.recurrent_activation(x_z + h_z)
            r = self.recurrent_activation(x_r + h_r)
            candidate = self.activation(x_h + r * h_h)
        else:
            u_zr, u_h = self.recurrent_kernel.split([2 * self.units, self.units], dim=1)
            zr_masks = None if recurrent_masks is None else recurrent_masks[:2]
            h_z, h_r = gate_matmul(h, u_zr, zr_masks).chunk(2, dim=-1)
            z = self.recurrent_activation(x_z + h_z)
            r = self.recurrent_activation(x_r + h_r)
            h_masked = h if recurrent_masks is None else h * recurrent_masks[2]
            candidate = self.activation(x_h + (r * h_masked) @ u_h)
        return (z * h + (1 - z) * candidate,)


class GRU(RNN):
    """Keras' `GRU(units, activation="tanh", recurrent_activation="sigmoid", reset_after=True)`.

    Input (B, T, F); output (B, U), or (B, T, U) with return_sequences; return_state adds the
    final h. Weights as Keras: kernel (F, 3U) glorot_uniform, recurrent_kernel (U, 3U)
    orthogonal, bias (2, 3U) zeros — row 0 for the input, row 1 for the recurrent projection.
    """

    @keeps_config
    def __init__(
        self,
        units: int,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        reset_after: bool = True,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        zero_output_for_mask: bool = False,
        input_dim: int | None = None,
        name: str | None = None,
        backend: str = "auto",
    ):
        cell = GRUCell(
            units, activation, recurrent_activation, use_bias, kernel_initializer,
            recurrent_initializer, bias_initializer, dropout, recurrent_dropout, reset_after,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
        )
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, zero_output_for_mask,
                         activity_regularizer, name, backend)
        if input_dim is not None:
            self.build((None, None, input_dim))
