"""Keras' `Bidirectional` wrapper: one copy of a recurrent layer reads forwards, one backwards.

The backward copy is the same layer with go_backwards flipped, built from the wrapped layer's
config (fresh weights; an `RNN(cell)` gets a copy of its cell with weights drawn again). Its
per-step outputs come in reading order, so they are put back in time order — within each
sequence's own length, or, with a mask, over all steps as Keras does — before the two directions
are merged. As in Keras, both directions output zeros at masked steps when
they return sequences (zero_output_for_mask follows return_sequences).
"""

import copy

import torch
from torch import nn

from .cells import StackedRNNCells
from .layer import Layer, Shape, keeps_config
from .rnn import BACKENDS, RNN, check_lengths, reverse_padded

MERGE_MODES = {
    "concat": lambda forward, backward: torch.cat([forward, backward], dim=-1),
    "sum": lambda forward, backward: forward + backward,
    "mul": lambda forward, backward: forward * backward,
    "ave": lambda forward, backward: (forward + backward) / 2,
    None: lambda forward, backward: (forward, backward),
}


class Bidirectional(Layer):
    supports_masking = True

    """`Bidirectional(layer, merge_mode="concat")`; merge_mode "concat", "sum", "mul", "ave" or
    None (returns the pair). With return_state: (merged output, *forward state, *backward state).
    `backend` ("auto", "fused", "reference"), if given, is set on both directions' layers.
    """

    @keeps_config
    def __init__(self, layer: RNN, merge_mode: str | None = "concat",
                 backward_layer: RNN | None = None, name: str | None = None, backend: str | None = None):
        if not isinstance(layer, RNN):
            raise TypeError(f"Bidirectional wraps a recurrent layer, got {type(layer).__name__}")
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"merge_mode must be one of {list(MERGE_MODES)}, got {merge_mode!r}")
        super().__init__(name)
        if backward_layer is None:
            backward_layer = backward_copy(layer)
        if backward_layer.go_backwards == layer.go_backwards:
            raise ValueError("backward_layer must read in the opposite direction to layer (go_backwards differs)")
        if backend is not None:
            if backend not in BACKENDS:
                raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
            layer.backend = backward_layer.backend = backend
        for direction in (layer, backward_layer):
            direction.zero_output_for_mask = direction.return_sequences
        self.forward_layer = layer
        self.backward_layer = backward_layer
        self.stateful = layer.stateful
        wrapped = layer.name
        self.forward_layer.name = f"forward_{wrapped}"
        self.backward_layer.name = f"backward_{wrapped}"
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.built = layer.built and backward_layer.built

    def build(self, input_shape: Shape) -> None:
        for layer in (self.forward_layer, self.backward_layer):
            if not layer.built:
                layer.build(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = self.forward_layer.compute_output_shape(input_shape)
        if self.merge_mode == "concat":
            return (*shape[:-1], 2 * shape[-1])
        return shape

    def compute_mask(self, inputs, mask):
        return mask if self.return_sequences else None

    def reset_state(self, states=None) -> None:
        """Keras' reset_state(): both directions' kept states to zeros (or forward's, then backward's)."""
        half = None if states is None else len(states) // 2
        self.forward_layer.reset_state(None if states is None else states[:half])
        self.backward_layer.reset_state(None if states is None else states[half:])

    def forward(self, x: torch.Tensor, lengths=None, initial_state=None, mask=None):
        forward_state = backward_state = None
        if initial_state is not None:  # Keras: the forward layer's states, then the backward's
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        forward = self.forward_layer(x, lengths, forward_state, mask=mask)
        backward = self.backward_layer(x, lengths, backward_state, mask=mask)
        if self.return_state:
            (forward, *forward_states), (backward, *backward_states) = forward, backward
        if self.return_sequences:  # reading order -> time order
            if mask is not None:
                backward = backward.flip(1)
            else:
                backward = reverse_padded(backward, check_lengths(lengths, x.shape[0], x.shape[1], x.device))
        output = MERGE_MODES[self.merge_mode](forward, backward)
        if self.return_state:
            return (output, *forward_states, *backward_states)
        return output

    def extra_repr(self) -> str:
        return f"name={self.name!r}, merge_mode={self.merge_mode!r}"


def backward_copy(layer: RNN) -> RNN:
    """The wrapped layer again, reading the other way, with weights of its own (Keras recreates it
    from the layer's config)."""
    config = {**layer.get_config(), "go_backwards": not layer.go_backwards, "name": None}
    if "cell" in config:  # RNN(cell): the cell object is in the config
        config["cell"] = fresh_copy(config["cell"])
    return type(layer)(**config)


def fresh_copy(cell):
    """A copy of cell (or of a list of cells) whose weights are drawn again: from its config where it
    has get_config/from_config, else a deep copy re-initialised by its reset_parameters (rnnzoo's
    cells). An unbuilt cell has no weights yet, so its copy builds its own."""
    if isinstance(cell, (list, tuple)):
        return [fresh_copy(c) for c in cell]
    if isinstance(cell, StackedRNNCells):
        return StackedRNNCells([fresh_copy(c) for c in cell.cells])
    if hasattr(cell, "get_config") and hasattr(type(cell), "from_config"):
        return type(cell).from_config(cell.get_config())
    copied = copy.deepcopy(cell)
    if isinstance(copied, nn.Module) and any(True for _ in copied.parameters()):
        if not hasattr(copied, "reset_parameters"):
            raise TypeError(f"Bidirectional can't give the backward copy of the built {type(cell).__name__} weights "
                            "of its own: give the cell reset_parameters() or get_config()/from_config(), or pass "
                            "backward_layer=RNN(another cell, go_backwards=True)")
        copied.reset_parameters()
    return copied
