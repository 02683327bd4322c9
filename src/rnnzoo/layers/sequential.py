"""Keras' `Sequential`: a stack of layers, each fed the previous one's output.

    model = Sequential([Input(shape=(None, 28)), LSTM(256), Dense(10)], name="LSTMs")

With an `Input` first, every layer is built at once, so `model.parameters()` is complete and an
optimizer can be made straight away. Layer names follow Keras (`lstm`, `lstm_1`, ...) and are the
submodule names, so state_dict keys read `lstm.cell.kernel`. `forward(x, lengths=None, mask=None)`
passes per-sequence lengths to every layer that still sees a sequence, and a Keras mask (given,
or made by a `Masking` layer) on as Keras does: each layer's `compute_mask` says what its output
carries; a layer that cannot take a mask (supports_masking False) refuses one.
"""

import torch
from torch import nn

from .core import Input
from .layer import Layer, Shape
from .rnn import RNN
from .bidirectional import Bidirectional
from .minimal import MinimalRNN
from .regularizers import collect_losses
from .summary import summary_table


class Sequential(nn.Module):
    def __init__(self, layers: list, name: str | None = None):
        super().__init__()
        self.name = name or "sequential"
        layers = list(layers)
        self.input_shape: Shape | None = None
        if layers and isinstance(layers[0], Input):
            self.input_shape = (None, *layers.pop(0).shape)
        taken: dict[str, int] = {}
        for position, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential layer {position} must be an rnnzoo layer, got {type(layer).__name__}")
            if isinstance(layer, (RNN, MinimalRNN, Bidirectional)) and layer.return_state:
                raise ValueError(f"layer {layer.name!r} has return_state=True, which Sequential cannot pass on")
            layer.name = self._unique(layer.name, taken)
            self.add_module(layer.name, layer)
        if self.input_shape is not None:
            self.build(self.input_shape)

    @staticmethod
    def _unique(name: str, taken: dict[str, int]) -> str:
        count = taken.get(name, 0)
        taken[name] = count + 1
        return name if count == 0 else f"{name}_{count}"

    @property
    def layers(self) -> list[Layer]:
        return list(self.children())

    def build(self, input_shape: Shape) -> None:
        shape = input_shape
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def output_shapes(self) -> list[Shape]:
        """Each layer's output shape, in Keras notation (None for batch and free time)."""
        if self.input_shape is None:
            raise ValueError(f"model {self.name!r} has no Input, so its shapes are unknown; start it with Input(shape=...)")
        shapes, shape = [], self.input_shape
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
            shapes.append(shape)
        return shapes

    def forward(self, x: torch.Tensor, lengths=None, mask=None) -> torch.Tensor:
        self._check_input(x)
        for layer in self.layers:
            if mask is not None and not layer.supports_masking:
                raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) cannot take a mask")
            next_mask = layer.compute_mask(x, mask)
            if mask is not None and isinstance(layer, (RNN, Bidirectional)):
                x = layer(x, mask=mask)
            else:
                x = layer(x, lengths) if x.dim() == 3 else layer(x)
            mask = next_mask
        return x

    @property
    def losses(self) -> list[torch.Tensor]:
        """Keras' `model.losses`: every layer's regularization losses (see regularizers.py)."""
        return collect_losses(self)

    def reset_state(self) -> None:
        """Keras' reset_state(): every stateful layer's kept state to zeros."""
        for layer in self.layers:
            if getattr(layer, "stateful", False):
                layer.reset_state()

    def _check_input(self, x) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"model {self.name!r} expects a torch.Tensor, got {type(x).__name__}")
        if self.input_shape is None:
            return
        expected = self.input_shape
        if x.dim() != len(expected) or any(e is not None and e != s for e, s in zip(expected[1:], x.shape[1:])):
            shown = ", ".join(["batch"] + ["any" if e is None else str(e) for e in expected[1:]])
            raise ValueError(f"model {self.name!r} expects input of shape ({shown}), got {tuple(x.shape)}")

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def summary(self, print_fn=print) -> str:
        """Print (and return) Keras' model summary table."""
        rows = [(f"{layer.name} ({type(layer).__name__})", shape, layer.count_params())
                for layer, shape in zip(self.layers, self.output_shapes())]
        text = summary_table(self.name, rows)
        if print_fn is not None:
            print_fn(text)
        return text
