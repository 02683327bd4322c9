"""Long Short-Term Memory, as Keras computes it (Hochreiter & Schmidhuber, 1997).

    z   = x_t W + h_{t-1} U + b                  split into four blocks, in Keras' order i, f, c, o
    i   = recurrent_activation(z_i)              input gate
    f   = recurrent_activation(z_f)              forget gate
    c_t = f * c_{t-1} + i * activation(z_c)      cell state
    o   = recurrent_activation(z_o)              output gate
    h_t = o * activation(c_t)

W = kernel (F, 4U), U = recurrent_kernel (U, 4U), b = bias (4U,). Parameters: 4U·(F + U + 1).
With unit_forget_bias (the default) the forget block of the bias starts at 1 (Jozefowicz et al.,
2015), the rest from bias_initializer.
"""

from .. import kernels
from . import activations, initializers
from .cell import RecurrentCell, gate_matmul
from .layer import keeps_config
from .rnn import RNN


class LSTMCell(RecurrentCell):
    gates = 4
    state_count = 2  # (h, c)
    fused_kind = kernels.Kind.LSTM

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0, **weight_options):
        super().__init__(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                         bias_initializer, dropout, recurrent_dropout, **weight_options)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = unit_forget_bias

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.bias is not None and self.unit_forget_bias:
            initializers.ones(self.bias.data[self.units : 2 * self.units])

    def step(self, x_projected, state, recurrent_masks):
        h, c = state
        z = x_projected + gate_matmul(h, self.recurrent_kernel, recurrent_masks)  # (B, 4U)
        z_i, z_f, z_c, z_o = z.chunk(4, dim=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, c


class LSTM(RNN):
    """Keras' `LSTM(units, activation="tanh", recurrent_activation="sigmoid", ...)` as a Module.

    Input (B, T, F); output (B, U), or (B, T, U) with return_sequences; return_state adds the
    final (h, c). Weights as Keras: kernel (F, 4U) glorot_uniform, recurrent_kernel (U, 4U)
    orthogonal, bias (4U,) zeros with the forget block at 1 (unit_forget_bias).
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
        unit_forget_bias: bool = True,
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
        cell = LSTMCell(
            units, activation, recurrent_activation, use_bias, kernel_initializer,
            recurrent_initializer, bias_initializer, unit_forget_bias, dropout, recurrent_dropout,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
        )
        super().__init__(cell, return_sequences, return_state, go_backwards, stateful, zero_output_for_mask,
                         activity_regularizer, name, backend)
        if input_dim is not None:
            self.build((None, None, input_dim))
