"""Any Keras-style cell in an `RNN`, and `StackedRNNCells`.

Keras' cell protocol: a `state_size` (an int, or a list of them, one per state tensor) and a call
`cell(x_t, states) -> (output, new_states)`, with states a list of (B, size) tensors. Optionally
`output_size` (default: the first state's size) and `build(input_dim)`. rnnzoo's own cells
(SimpleRNNCell, LSTMCell, GRUCell) follow it and run on the fused kernels inside an `RNN`; any
other cell — a user's own, or a `StackedRNNCells` — runs on the reference loop through
`KerasCell`, which hands the runner a flat tuple of state tensors.

    class MinimalRNNCell(torch.nn.Module):          # Keras' example, in PyTorch
        state_size = 32
        def __init__(self): super().__init__(); self.dense = torch.nn.LazyLinear(32)
        def forward(self, x, states):
            h = self.dense(x) + states[0]
            return h, [h]

    layer = rnnzoo.RNN(MinimalRNNCell(), return_sequences=True)
"""

import torch
from torch import nn

from .. import kernels


def _flatten(structure) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    return [structure]


def _pack(structure, flat: list):
    """flat (consumed from the front) in the nesting of structure (a state_size)."""
    if isinstance(structure, (list, tuple)):
        return [_pack(item, flat) for item in structure]
    return flat.pop(0)


class StackedRNNCells(nn.Module):
    """Keras' `StackedRNNCells(cells)`: one step of each cell in turn, each reading the one
    before's output. Its state is the cells' states, in order (a list of each cell's list)."""

    def __init__(self, cells):
        super().__init__()
        cells = list(cells)
        if not cells:
            raise ValueError("StackedRNNCells needs at least one cell")
        for i, cell in enumerate(cells):
            if not hasattr(cell, "state_size") or not callable(cell):
                raise TypeError(f"StackedRNNCells cell {i} must have a state_size and be callable (x_t, states), "
                                f"got {type(cell).__name__}")
        self.cells = nn.ModuleList(cells)

    @property
    def state_size(self) -> list:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    def build(self, input_dim: int) -> None:
        for cell in self.cells:
            if getattr(cell, "input_dim", 0) is None or not getattr(cell, "built", True):
                cell.build(input_dim)
            input_dim = _output_size(cell)

    def forward(self, inputs: torch.Tensor, states) -> tuple[torch.Tensor, list]:
        new_states = []
        for cell, state in zip(self.cells, states):
            state = state if isinstance(state, (list, tuple)) else [state]
            inputs, new = cell(inputs, state)
            new_states.append(list(new) if isinstance(new, (list, tuple)) else [new])
        return inputs, new_states


def _output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    return size if size is not None else _flatten(cell.state_size)[0]


class KerasCell(nn.Module):
    """A Keras-style cell as `rnn.RNN` runs it: flat state tuples, no fused kernel, no dropout masks."""

    fused_kind = None

    def __init__(self, cell):
        super().__init__()
        if not hasattr(cell, "state_size") or not callable(cell):
            raise TypeError(f"RNN takes a cell with a state_size that is called as cell(x_t, states), "
                            f"got {type(cell).__name__}")
        self.inner = cell
        self.sizes = _flatten(cell.state_size)
        self.state_count = len(self.sizes)
        self.units = _output_size(cell)
        self.recurrent_dropout = 0.0
        self.input_dim: int | None = None

    def build(self, input_dim: int) -> None:
        if hasattr(self.inner, "build"):
            self.inner.build(input_dim)
        self.input_dim = input_dim

    def initial_state(self, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(like.new_zeros(batch, size) for size in self.sizes)

    def dropout_masks(self, batch: int, like: torch.Tensor):
        return None, None

    def describe(self) -> kernels.CellSpec:
        name = type(self.inner).__name__
        return kernels.CellSpec(name, None, None, None, None, None, None, None, None, None,
                                reason=f"{name} is not one of rnnzoo's cells: the reference loop runs it")

    def project_inputs(self, x: torch.Tensor, masks) -> torch.Tensor:
        return x

    def call_step(self, x_t: torch.Tensor, state: tuple, recurrent_masks) -> tuple[torch.Tensor, tuple]:
        states = _pack(self.inner.state_size, list(state))
        output, new_states = self.inner(x_t, states if isinstance(states, list) else [states])  # always a list
        return output, tuple(_flatten(new_states))

    def extra_repr(self) -> str:
        return f"{self.input_dim} -> {self.units}, states {self.sizes}"
