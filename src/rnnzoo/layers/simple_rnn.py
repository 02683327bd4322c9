"""Fully-connected RNN (Keras' SimpleRNN / Elman network).

    h_t = activation(x_t W + b + h_{t-1} U)

W = kernel (F, U), U = recurrent_kernel (U, U), b = bias (U,). Parameters: U·(F + U + 1).
"""

from .. import kernels
from .cell import RecurrentCell, gate_matmul
from .layer import keeps_config
from .rnn import RNN


class SimpleRNNCell(RecurrentCell):
    gates = 1
    state_count = 1
    fused_kind = kernels.Kind.SIMPLE

    def step(self, x_projected, state, recurrent_masks):
        (h,) = state
        return (self.activation(x_projected + gate_matmul(h, self.recurrent_kernel, recurrent_masks)),)


class SimpleRNN(RNN):
    """Keras' `SimpleRNN(units, activation="tanh", ...)` as a torch.nn.Module.

    Input (B, T, F); output (B, U), or (B, T, U) with return_sequences; see `rnn.RNN` for
    return_state, go_backwards and per-sequence `lengths`. Weights as Keras: kernel (F, U)
    glorot_uniform, recurrent_kernel (U, U) orthogonal, bias (U,) zeros.
    """

    @keeps_config
    def __init__(
        self,
        units: int,
        activation="tanh",
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
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        zero_output_for_mask: bool = False,
        input_dim: int | None = None,
        name: str | None = None,
        backend: str = "auto",
    ):
        cell = SimpleRNNCell(
            units, activation, use_bias, kernel_initializer, recurrent_initializer,
            bias_initializer, dropout, recurrent_dropout,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
        )
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, zero_output_for_mask,
                         activity_regularizer, name, backend)
        if input_dim is not None:
            self.build((None, None, input_dim))
