"""The loop over time that turns a cell into a sequence layer (Keras' `RNN` wrapper).

Shapes: B batch, T time steps, F input features, U units. Input is batch-first, (B, T, F), as in
Keras. A call returns

    return_sequences=False:  (B, U)       the output of the last step
    return_sequences=True:   (B, T, U)    the output of every step
    return_state=True:       (output, *final_state), with final_state (h,) or (h, c), each (B, U)

Variable lengths: `lengths` (B,) gives each sequence its own length 1..T; the batch is padded at
the end. A padded step leaves the state unchanged and outputs zeros, so every sequence's outputs
and final state equal those of the sequence run alone. With `go_backwards=True` each sequence is
read from its own last valid step back to its first, and the outputs come in that reading order,
left-aligned, exactly as the sequence alone would give them. (Keras' masking instead reverses the
padding too; the results for the valid steps are the same, their positions differ.)

Backends: `backend="reference"` runs the loop below, one autograd op at a time — the readable
definition. Otherwise the layer hands its cell's record (`cell.describe()`) to the kernels, whose
`plan` picks a fused route — PyTorch's own fused op (cuDNN) where it takes the configuration and is
the faster, else rnnzoo's kernels (native C++ with a hand-written backward, or their pure-PyTorch
twin) — or says why none applies: `backend="fused"` then raises with that reason, and
`backend="auto"` (the default) runs the reference loop. `layer.plan(x)` shows the choice. The routes
and their conditions are listed in `rnnzoo/kernels/route.py`. Every backend draws the same dropout
masks and computes the same function.

Masks: `mask` (B, T) boolean, Keras' masks with holes anywhere (see `masking.py`): a masked step
keeps the state and repeats the previous output, or outputs zeros with `zero_output_for_mask`.
The fused kernels run a masked batch by packing each sequence's valid steps to the front.

Stateful: with `stateful=True` the final state of a call is kept (persistent buffers `state_0`,
`state_1`, so it travels in `state_dict` and checkpoints) and is the next call's initial state;
the batch size is then fixed by the first call, and `reset_state()` sets the state to zeros.
"""

import torch

from .. import kernels
from . import masking, regularizers
from .cell import RecurrentCell
from .cells import KerasCell, StackedRNNCells
from .layer import Layer, Shape, keeps_config

BACKENDS = ("auto", "fused", "reference")
ZERO_STATES = (RecurrentCell.initial_state, KerasCell.initial_state)  # the cells' methods that give zeros


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Reverse each sequence of x (B, T, ...) within its own length; padding stays at the end."""
    if lengths is None:
        return x.flip(1)
    steps = torch.arange(x.shape[1], device=x.device)  # (T,)
    valid = steps < lengths[:, None]  # (B, T)
    index = torch.where(valid, lengths[:, None] - 1 - steps, steps)  # (B, T)
    index = index.view(*index.shape, *[1] * (x.dim() - 2)).expand_as(x)
    return x.gather(1, index)


def check_lengths(lengths, batch: int, steps: int, device: torch.device) -> torch.Tensor | None:
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths, device=device)
    if lengths.shape != (batch,):
        raise ValueError(f"lengths must have shape ({batch},), one per sequence, got {tuple(lengths.shape)}")
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be integers, got {lengths.dtype}")
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > steps:
        raise ValueError(f"lengths must lie in [1, {steps}] (the time steps given), got values in [{low}, {high}]")
    return lengths.long()


class RNN(Layer):
    """Runs `cell` over the time axis. Subclasses (SimpleRNN, LSTM, GRU) only choose the cell.

    Keras' `RNN(cell)`: `cell` is one of rnnzoo's cells (fused where the configuration allows), a
    list of cells (stacked, `StackedRNNCells`), or any Keras-style cell (`cells.KerasCell`: a
    `state_size` and `cell(x_t, states) -> (output, new_states)`), run by the reference loop.
    """

    supports_masking = True

    @keeps_config
    def __init__(
        self,
        cell: RecurrentCell,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        zero_output_for_mask: bool = False,
        activity_regularizer=None,
        name: str | None = None,
        backend: str = "auto",
    ):
        super().__init__(name)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not isinstance(cell, RecurrentCell):
            cell = KerasCell(cell)
        self.backend = backend
        self.cell = cell
        self.units = cell.units
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.zero_output_for_mask = zero_output_for_mask
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.activity_losses: list[torch.Tensor] = []  # from the last call, as Keras' layer.losses
        self.stateful = stateful
        if stateful:  # empty until the first call fixes the batch size
            self.state_names = tuple(f"state_{i}" for i in range(cell.state_count))
            for name in self.state_names:
                self.register_buffer(name, torch.empty(0))

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise ValueError(f"{self.name} expects input of shape (batch, time, features), got {input_shape}")
        self.cell.build(input_shape[-1])
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        batch, steps, _ = input_shape
        if self.return_sequences:
            return (batch, steps, self.units)
        return (batch, self.units)

    def compute_mask(self, inputs, mask):
        return mask if self.return_sequences else None

    def forward(self, inputs: torch.Tensor, lengths=None, initial_state=None, mask=None):
        x = self._check_inputs(inputs)
        batch, steps, _ = x.shape
        lengths = check_lengths(lengths, batch, steps, x.device)
        mask = masking.check_mask(mask, batch, steps, x.device)
        if lengths is not None and mask is not None:
            raise ValueError(f"{self.name}: give lengths (end padding) or mask, not both")
        if self.go_backwards:
            x = reverse_padded(x, lengths)
            mask = None if mask is None else mask.flip(1)  # Keras reverses the mask with the steps
        if lengths is not None:
            steps = int(lengths.max())  # nothing to compute past the longest sequence
            x = x[:, :steps]

        cell = self._modules["cell"]  # self.cell: nn.Module's __getattr__, slow next to a one-step call
        input_masks, recurrent_masks = cell.dropout_masks(batch, x) if self.training else (None, None)
        state = self._initial_state(initial_state, batch, x)

        record = cell.describe()
        plan = self._plan(record, x, state, lengths if mask is None else mask.sum(1))
        if plan.route is not None:
            outputs, state, last = self._run_fused(plan, record, x, state, lengths, mask, input_masks)
        else:
            projected = cell.project_inputs(x, input_masks)  # (B, T, gates·U): one GEMM for all steps
            outputs, state, last = self._run_reference(projected, state, lengths, mask, recurrent_masks)
        if mask is not None and self.zero_output_for_mask:
            last = torch.where(mask[:, -1:], last, 0.0)
            outputs = None if outputs is None else torch.where(mask[..., None], outputs, 0.0)
        if self.stateful:
            self._keep_state(state)

        if self.return_sequences:
            output = outputs  # (B, T', U)
            if output.shape[1] < inputs.shape[1]:  # steps past the longest sequence are padding
                output = torch.nn.functional.pad(output, (0, 0, 0, inputs.shape[1] - output.shape[1]))
        else:
            output = last
        result = (output, *state) if self.return_state else output
        losses = regularizers.activity_losses(self.activity_regularizer, result)
        if losses or self.activity_losses:  # most layers have none, and a module's setattr is not free
            self.activity_losses = losses
        return result

    def _run_fused(self, plan, cell, x, state, lengths, mask, input_masks):
        """The kernels' run: (outputs (B, T', U) or None, final state, last output)."""
        if input_masks is not None:  # one mask for every gate: recurrent dropout is never fused
            x = x * input_masks[0].unsqueeze(1)
        if mask is None:
            outputs, state = kernels.run(plan, cell, x, state, lengths, self.return_sequences)
            return outputs, state, state[0]
        initial = state
        packed, lengths = masking.compact(x, mask)  # the valid steps first: an end-padded batch
        outputs, state = kernels.run(plan, cell, packed, state, lengths, self.return_sequences)
        state = masking.masked_final_state(state, initial, mask)
        outputs = masking.spread(outputs, mask) if self.return_sequences else None
        return outputs, state, torch.where(mask.any(1)[:, None], state[0], 0.0)

    def _run_reference(self, projected, state, lengths, mask, recurrent_masks):
        """The loop over time, one cell step after another: (outputs (B, T', U) or None, final
        state, last output). A step past a sequence's length, or masked, keeps the state; its
        output is zeros past the length, and the previous output where masked (Keras)."""
        outputs, last = [], None
        for t in range(projected.shape[1]):
            output, new_state = self.cell.call_step(projected[:, t], state, recurrent_masks)
            if lengths is None and mask is None:
                state, last = new_state, output
            else:
                valid = (t < lengths)[:, None] if mask is None else mask[:, t, None]  # (B, 1)
                state = tuple(torch.where(valid, new, old) for new, old in zip(new_state, state))
                last = torch.where(valid, output, 0.0 if last is None else last)
                output = last if mask is not None else torch.where(valid, output, 0.0)
            if self.return_sequences:  # else only the final state is returned: don't keep T outputs alive
                outputs.append(output)
        return (torch.stack(outputs, dim=1) if self.return_sequences else None), state, last

    # -- stateful ------------------------------------------------------------------------------
    # The kept state is read and written through _buffers (and the cell found in _modules): a stateful
    # layer streaming one step at a time would otherwise spend more in nn.Module's __getattr__ and
    # __setattr__ than in its kernels.
    def _kept_state(self) -> tuple[torch.Tensor, ...] | None:
        buffers = self._buffers
        state = tuple([buffers[name] for name in self.state_names])
        if state[0].numel() == 0:
            return None
        if state[0].is_inference() and not torch.is_inference_mode_enabled():
            state = tuple(s.clone() for s in state)  # kept under inference_mode (evaluate)
        return state

    def _keep_state(self, state: tuple) -> None:
        # Detached where it carries a graph: truncated backpropagation through time ends at the
        # call's first step (at inference a detach would only cost a torch call).
        buffers = self._buffers
        for name, s in zip(self.state_names, state):  # registered in __init__
            buffers[name] = s.detach() if s.requires_grad else s

    def reset_state(self, states=None) -> None:
        """Keras' reset_state(): the kept state to zeros, or to `states` (one tensor per state)."""
        if not self.stateful:
            raise AttributeError(f"{self.name} is not stateful (stateful=True keeps the state)")
        kept = self._kept_state()
        if states is None:
            if kept is not None:
                self._keep_state(tuple(torch.zeros_like(s) for s in kept))
            return
        states = (states,) if isinstance(states, torch.Tensor) else tuple(states)
        self._keep_state(self._initial_state(states, states[0].shape[0], states[0]))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The kept state's shape is fixed by the batch size of the first call; take the saved one's.
        if self.stateful:
            for name in self.state_names:
                saved = state_dict.get(prefix + name)
                if saved is not None:
                    setattr(self, name, torch.empty_like(saved))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def plan(self, inputs: torch.Tensor, lengths=None, initial_state=None, mask=None) -> kernels.Plan:
        """The route a call on these inputs would take now (`kernels.Plan`), without running it."""
        x = self._check_inputs(inputs)
        lengths = check_lengths(lengths, x.shape[0], x.shape[1], x.device)
        mask = masking.check_mask(mask, x.shape[0], x.shape[1], x.device)
        state = self._initial_state(initial_state, x.shape[0], x)
        return self._plan(self.cell.describe(), x, state, lengths if mask is None else mask.sum(1))

    def _plan(self, cell: kernels.CellSpec, x: torch.Tensor, state: tuple, lengths) -> kernels.Plan:
        """The kernels' plan; with backend="fused" one that runs, or an error saying why none can."""
        if self.backend == "reference":
            return kernels.Plan(None, "backend='reference'")
        plan = kernels.plan(cell, x, state, lengths, self.training)
        if plan.route is None and self.backend == "fused":
            raise ValueError(f"{self.name}: backend='fused' cannot run this layer: {plan.reason}")
        return plan

    def _check_inputs(self, inputs) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"{self.name} expects a torch.Tensor, got {type(inputs).__name__}")
        if inputs.dim() != 3:
            raise ValueError(
                f"{self.name} expects input of shape (batch, time, features), got {tuple(inputs.shape)}"
            )
        if inputs.shape[1] < 1:
            raise ValueError(f"{self.name} needs at least one time step, got {tuple(inputs.shape)}")
        self.build_for(inputs)
        if inputs.shape[-1] != self._modules["cell"].input_dim:
            raise ValueError(
                f"{self.name} was built for {self.cell.input_dim} input features, got {inputs.shape[-1]}"
            )
        return inputs

    def _initial_state(self, given, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if given is None and self.stateful:
            given = self._kept_state()
            if given is not None and given[0].shape[0] != batch:
                raise ValueError(f"{self.name} is stateful with batch size {given[0].shape[0]} (that of its kept state), "
                                 f"got a batch of {batch}; call reset_state() with new states to change it")
        zeros = self._zero_state(batch, like)
        if given is None:
            return zeros
        state = (given,) if isinstance(given, torch.Tensor) else tuple(given)
        if len(state) != len(zeros) or [s.shape for s in state] != [z.shape for z in zeros]:
            expected = [tuple(s.shape) for s in zeros]
            raise ValueError(f"{self.name} expects initial_state of {len(expected)} tensor(s) of shape "
                             f"{', '.join(map(str, expected))}, got {[tuple(s.shape) for s in state]}")
        return state

    def _zero_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The cell's zero initial state, kept from call to call while batch size, dtype, device and
        inference mode stay (making it is a torch call per layer call): every route only reads the
        initial state, and a call's final state is always a new tensor. Cells of other classes
        may start elsewhere than zeros (a learned state): theirs is asked for every call."""
        cell = self._modules["cell"]
        if type(cell).initial_state not in ZERO_STATES:
            return cell.initial_state(batch, like)
        key = (batch, like.dtype, like.device, torch.is_inference_mode_enabled())
        kept = self.__dict__.get("_zeros")
        if kept is None or kept[0] != key:
            kept = self.__dict__["_zeros"] = (key, cell.initial_state(batch, like))
        return kept[1]

    def __getstate__(self):  # copies and pickles make their own
        state = super().__getstate__()
        state.pop("_zeros", None)
        return state

    def extra_repr(self) -> str:
        flags = [f for f in ("return_sequences", "return_state", "go_backwards", "stateful", "zero_output_for_mask")
                 if getattr(self, f)]
        backend = [] if self.backend == "auto" else [f"backend={self.backend!r}"]
        return ", ".join([f"name={self.name!r}", *(f"{f}=True" for f in flags), *backend])
