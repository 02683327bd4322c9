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
"""

import torch

from .. import kernels
from .cell import RecurrentCell
from .layer import Layer, Shape

BACKENDS = ("auto", "fused", "reference")


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
    """Runs `cell` over the time axis. Subclasses (SimpleRNN, LSTM, GRU) only choose the cell."""

    def __init__(
        self,
        cell: RecurrentCell,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        name: str | None = None,
        backend: str = "auto",
    ):
        super().__init__(name)
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.backend = backend
        self.cell = cell
        self.units = cell.units
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards

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

    def forward(self, inputs: torch.Tensor, lengths=None, initial_state=None):
        x = self._check_inputs(inputs)
        batch, steps, _ = x.shape
        lengths = check_lengths(lengths, batch, steps, x.device)
        if self.go_backwards:
            x = reverse_padded(x, lengths)
        if lengths is not None:
            steps = int(lengths.max())  # nothing to compute past the longest sequence
            x = x[:, :steps]

        input_masks, recurrent_masks = (
            self.cell.dropout_masks(batch, x) if self.training else (None, None)
        )
        state = self._initial_state(initial_state, batch, x)

        cell = self.cell.describe()
        plan = self._plan(cell, x, state, lengths)
        if plan.route is not None:
            if input_masks is not None:  # one mask for every gate: recurrent dropout is never fused
                x = x * input_masks[0].unsqueeze(1)
            outputs, state = kernels.run(plan, cell, x, state, lengths, self.return_sequences)
        else:
            projected = self.cell.project_inputs(x, input_masks)  # (B, T, gates·U): one GEMM for all steps
            outputs, state = self._run_reference(projected, state, lengths, recurrent_masks)

        if self.return_sequences:
            output = outputs  # (B, T', U)
            if output.shape[1] < inputs.shape[1]:  # steps past the longest sequence are padding
                output = torch.nn.functional.pad(output, (0, 0, 0, inputs.shape[1] - output.shape[1]))
        else:
            output = state[0]
        return (output, *state) if self.return_state else output

    def _run_reference(self, projected, state, lengths, recurrent_masks):
        """The loop over time, one cell step after another: (outputs (B, T', U) or None, final state)."""
        outputs = []
        for t in range(projected.shape[1]):
            new_state = self.cell.step(projected[:, t], state, recurrent_masks)
            if lengths is None:
                state = new_state
                outputs.append(state[0])
            else:
                running = (t < lengths)[:, None]  # (B, 1): sequences not yet past their end
                state = tuple(torch.where(running, new, old) for new, old in zip(new_state, state))
                outputs.append(torch.where(running, state[0], 0.0))
            if not self.return_sequences:
                outputs.clear()  # only the final state is returned: don't keep T outputs alive
        return (torch.stack(outputs, dim=1) if self.return_sequences else None), state

    def plan(self, inputs: torch.Tensor, lengths=None, initial_state=None) -> kernels.Plan:
        """The route a call on these inputs would take now (`kernels.Plan`), without running it."""
        x = self._check_inputs(inputs)
        lengths = check_lengths(lengths, x.shape[0], x.shape[1], x.device)
        state = self._initial_state(initial_state, x.shape[0], x)
        return self._plan(self.cell.describe(), x, state, lengths)

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
        if inputs.shape[-1] != self.cell.input_dim:
            raise ValueError(
                f"{self.name} was built for {self.cell.input_dim} input features, got {inputs.shape[-1]}"
            )
        return inputs

    def _initial_state(self, given, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if given is None:
            return self.cell.initial_state(batch, like)
        state = (given,) if isinstance(given, torch.Tensor) else tuple(given)
        expected = (batch, self.units)
        if len(state) != self.cell.state_size or any(s.shape != expected for s in state):
            raise ValueError(
                f"{self.name} expects initial_state of {self.cell.state_size} tensor(s) of shape "
                f"{expected}, got {[tuple(s.shape) for s in state]}"
            )
        return state

    def extra_repr(self) -> str:
        flags = [f for f in ("return_sequences", "return_state", "go_backwards") if getattr(self, f)]
        backend = [] if self.backend == "auto" else [f"backend={self.backend!r}"]
        return ", ".join([f"name={self.name!r}", *(f"{f}=True" for f in flags), *backend])
