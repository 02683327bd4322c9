"""What every recurrent cell shares: Keras' weight layout, initialisers and dropout masks.

A cell is one time step. Its weights are laid out as in Keras, so that weights move between the
two frameworks without reshaping:

    kernel            (input_dim, gates·units)   multiplies x_t         (x @ kernel)
    recurrent_kernel  (units, gates·units)       multiplies h_{t-1}
    bias              (gates·units,)             or (2, 3·units) for GRU(reset_after=True)

with the gates side by side in Keras' order (LSTM: i, f, c, o; GRU: z, r, h). The loop over time
lives in `rnn.RNN`; a cell only says how one step turns (x_t projected, state) into a new state.
Because `x_t @ kernel` does not depend on the state, the reference loop computes it for all steps
in one matrix product (`project_inputs`) and hands each step its slice. For the fused kernels a
cell describes itself as a plain record (`describe`): its kind, activations and weights.
"""

import torch
from torch import nn

from .. import kernels
from . import activations, constraints, initializers, regularizers


def gate_matmul(x: torch.Tensor, weight: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
    """`x @ weight`, with Keras' recurrent-layer dropout applied to x.

    `masks` is None (no dropout), one mask (n=1) shared by every gate, or one mask per gate
    (n=gates, Keras' "implementation 1", used whenever recurrent_dropout > 0): gate g's block of
    columns then sees x * masks[g]. Masks are (n, batch, features) and hold for every time step.
    """
    if masks is None:
        return x @ weight
    if x.dim() == 3:
        masks = masks.unsqueeze(2)  # (n, B, 1, F): the same mask at every time step
    if len(masks) == 1:
        return (x * masks[0]) @ weight
    blocks = weight.chunk(len(masks), dim=1)
    return torch.cat([(x * mask) @ block for mask, block in zip(masks, blocks)], dim=-1)


def activation_code(function) -> int | None:
    """The kernels' code for a built-in Keras activation (the function itself, not one named alike)."""
    name = activations.builtin_name(function)
    return kernels.ACTIVATION_CODES.get(name) if name is not None else None


def _check_rate(name: str, rate: float) -> float:
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {rate}")
    return float(rate)


class RecurrentCell(nn.Module):
    gates: int = 1  # column blocks in kernel / recurrent_kernel
    state_count: int = 1  # tensors in the state: (h,) or (h, c)
    # The step equations the fused kernels compute for this class (a kernels.Kind), or None. Each
    # class declares its own: a subclass that doesn't may have changed the step, so it runs the
    # reference loop unless it declares the kind again.
    fused_kind: kernels.Kind | None = None
    recurrent_activation = None  # the gates' activation, for cells that have gates

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "fused_kind" not in cls.__dict__:
            cls.fused_kind = None
        if "record_is_views" not in cls.__dict__ and ("input_bias" in cls.__dict__ or "recurrent_bias" in cls.__dict__):
            cls.record_is_views = False

    def __init__(
        self,
        units: int,
        activation="tanh",
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
    ):
        super().__init__()
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        self.units = units
        self.activation_name = activations.name_of(activation)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_dim: int | None = None

    # -- weights -------------------------------------------------------------------------------
    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def build(self, input_dim: int) -> None:
        if not isinstance(input_dim, int) or input_dim <= 0:
            raise ValueError(f"input feature size must be a positive integer, got {input_dim!r}")
        self.input_dim = input_dim
        width = self.gates * self.units
        self.kernel = nn.Parameter(torch.empty(input_dim, width))
        self.recurrent_kernel = nn.Parameter(torch.empty(self.units, width))
        self.bias = nn.Parameter(torch.empty(self.bias_shape())) if self.use_bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.kernel_initializer(self.kernel)
        self.recurrent_initializer(self.recurrent_kernel)
        if self.bias is not None:
            self.bias_initializer(self.bias)

    def _weights_with(self, kind: str) -> list:
        pairs = [(self.kernel, getattr(self, f"kernel_{kind}")),
                 (self.recurrent_kernel, getattr(self, f"recurrent_{kind}")), (self.bias, getattr(self, f"bias_{kind}"))]
        return [(w, f) for w, f in pairs if w is not None and f is not None] if self.input_dim is not None else []

    def weight_regularizers(self) -> list:
        """(weight, regularizer) pairs, for `regularizers.collect_losses`."""
        return self._weights_with("regularizer")

    def weight_constraints(self) -> list:
        """(weight, constraint) pairs, for `constraints.apply_constraints`."""
        return self._weights_with("constraint")

    def input_bias(self) -> torch.Tensor | None:
        return self.bias

    def recurrent_bias(self) -> torch.Tensor | None:
        """A bias added to h_{t-1} U inside the step (GRU with reset_after), else None."""
        return None

    # -- the record the kernels take ---------------------------------------------------------------
    # A layer asks for it on every call. Made afresh it costs about as much Python as the rest of the
    # call's glue, so it is kept (in _record) while what it was made from stays: no attribute of the
    # cell set (but `training`) or deleted and no move (`.to()`, `.double()`; these drop it), the
    # same parameter objects holding the same storage (a `.data` swap leaves a kept view of the bias
    # behind), each asking for gradients as before, and the same grad and inference modes (a view
    # made under no_grad would cut the gradient's way back to the bias; one made in inference mode
    # can't be saved for backward). A class whose biases are not parameters or views of them (its own
    # input_bias or recurrent_bias) gets a new record every call.
    record_is_views = True

    def describe(self) -> kernels.CellSpec:
        """This cell as the kernels take it: its kind, activations and weights (a plain record)."""
        key = (torch.is_grad_enabled(), torch.is_inference_mode_enabled(),
               *[(id(p), p.data_ptr(), p.requires_grad) for p in self._parameters.values() if p is not None])
        kept = self.__dict__.get("_record")
        if kept is not None and kept[0] == key:
            return kept[1]
        record = self.record()
        if self.record_is_views:
            self.__dict__["_record"] = (key, record)
        return record

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name != "training":  # train() and eval() set it, and the record doesn't depend on it
            self.__dict__.pop("_record", None)

    def __delattr__(self, name):
        super().__delattr__(name)
        self.__dict__.pop("_record", None)

    def _apply(self, fn, *args, **kwargs):
        self.__dict__.pop("_record", None)
        return super()._apply(fn, *args, **kwargs)

    def __getstate__(self):  # copies and pickles make their own (a kept view is no graph leaf: no deepcopy)
        state = super().__getstate__()
        state.pop("_record", None)
        return state

    def record(self) -> kernels.CellSpec:
        """The record, made now (what `describe` keeps)."""
        return kernels.CellSpec(
            name=type(self).__name__,
            kind=self.fused_kind,
            activation=self.activation,
            activation_code=activation_code(self.activation),
            recurrent_activation=self.recurrent_activation,
            recurrent_activation_code=activation_code(self.recurrent_activation),
            kernel=self.kernel,
            recurrent_kernel=self.recurrent_kernel,
            input_bias=self.input_bias(),
            recurrent_bias=self.recurrent_bias(),
            recurrent_dropout=self.recurrent_dropout,
            reason=self.unfused_reason(),
        )

    def unfused_reason(self) -> str:
        """Why no fused kernel computes this cell's step (when fused_kind is None)."""
        return (f"there is no fused kernel for {type(self).__name__} "
                "(only SimpleRNNCell, LSTMCell, GRUCell; a subclass declares fused_kind to keep it)")

    # -- Keras' cell API: the cell called alone -----------------------------------------------------
    @property
    def state_size(self):
        """Keras' state_size: units for one state tensor, [units, units] for LSTM's (h, c)."""
        return self.units if self.state_count == 1 else [self.units] * self.state_count

    @property
    def output_size(self) -> int:
        return self.units

    def get_initial_state(self, batch_size: int) -> list[torch.Tensor]:
        like = self.kernel if self.input_dim is not None else torch.empty(0)
        return list(self.initial_state(batch_size, like))

    def forward(self, inputs: torch.Tensor, states) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Keras' `cell(x_t, states) -> (output, new_states)`: one step, x_t (B, F), states a list
        of (B, U) tensors (or one tensor). Built on the first call; applies no dropout (an RNN
        running the cell draws the masks)."""
        if self.input_dim is None:
            self.build(inputs.shape[-1])
            self.to(device=inputs.device, dtype=inputs.dtype)
        states = (states,) if isinstance(states, torch.Tensor) else tuple(states)
        if len(states) != self.state_count:
            raise ValueError(f"{type(self).__name__} takes {self.state_count} state tensor(s), got {len(states)}")
        output, new_states = self.call_step(self.project_inputs(inputs, None), states, None)
        return output, list(new_states)

    # -- the step --------------------------------------------------------------------------------
    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        zeros = like.new_zeros(batch, self.units)
        return tuple(zeros for _ in range(self.state_count))

    def dropout_masks(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """Keras' dropout masks for one batch: drawn once, the same at every step.

        Returns (input masks, recurrent masks), each None or (n, batch, size) of 0 or 1/(1-rate).
        """
        # Keras switches to one mask per gate once recurrent dropout is on ("implementation 1").
        count = self.gates if self.recurrent_dropout > 0 else 1

        def masks(rate: float, size: int) -> torch.Tensor | None:
            if rate == 0.0:
                return None
            keep = like.new_full((count, batch, size), 1.0 - rate)
            return torch.bernoulli(keep) / (1.0 - rate)

        return masks(self.dropout, self.input_dim), masks(self.recurrent_dropout, self.units)

    def project_inputs(self, x: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
        """x @ kernel + input bias for every step at once: (B, T, F) -> (B, T, gates·units)."""
        projected = gate_matmul(x, self.kernel, masks)
        bias = self.input_bias()
        return projected if bias is None else projected + bias

    def call_step(self, x_projected, state, recurrent_masks):
        """One time step as the loop takes it: (output, new state); a recurrent cell outputs h."""
        state = self.step(x_projected, state, recurrent_masks)
        return state[0], state

    def step(self, x_projected, state, recurrent_masks):
        """One time step: (x_t @ kernel + bias, state_{t-1}) -> state_t; state_t[0] is the output."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"{self.input_dim} -> {self.units}, activation={self.activation_name}"
