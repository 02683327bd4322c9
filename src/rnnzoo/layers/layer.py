"""The Keras-style base layer: built from the input's feature size, aware of its output shape.

Keras creates a layer's weights when it first learns the size of its input; so do these layers.
`Sequential` builds every layer as soon as it knows the input shape (so an optimizer can be made
right after the model), a layer given `input_dim=` builds at once, and a lone layer builds on its
first call. Shapes follow Keras' notation: a tuple with `None` for an unknown batch or time size,
e.g. `(None, None, 28)`.
"""

import functools
import inspect
import re

import torch
from torch import nn

from . import regularizers

Shape = tuple[int | None, ...]


def snake_case(name: str) -> str:
    """`SimpleRNN` -> `simple_rnn`, `LSTM` -> `lstm`: Keras' default layer names."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def keeps_config(init):
    """Decorate a layer's __init__ so `get_config()` returns the arguments it was built with.

    Keras layers recreate themselves from their config (Bidirectional clones its layer that way);
    recording the bound arguments once here saves every layer from listing them twice.
    """

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = inspect.signature(init).bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(self, *args, **kwargs)
        self._config = {k: v for k, v in bound.arguments.items() if k != "self"}

    return wrapper


class Layer(nn.Module):
    # Keras' masking protocol: a layer that supports masking takes a (batch, time) mask from the
    # layer before it in a Sequential, and compute_mask says what it hands on (see masking.py).
    supports_masking = False

    def __init__(self, name: str | None = None):
        super().__init__()
        if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"layer name must be an identifier (letters, digits, _), got {name!r}")
        self.name = name or snake_case(type(self).__name__)
        self.built = False

    def build(self, input_shape: Shape) -> None:
        """Create the weights for inputs of this shape. Layers without weights just mark built."""
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def compute_mask(self, inputs: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor | None:
        """The mask this layer's output carries, given its input's (Keras: passed on unchanged)."""
        return mask

    @property
    def losses(self) -> list[torch.Tensor]:
        """Keras' `layer.losses`: weight regularization from the current weights, and activity
        regularization from the last call, of this layer and the layers inside it."""
        return regularizers.collect_losses(self)

    def get_config(self) -> dict:
        """Constructor arguments that recreate this layer, unbuilt (as Keras' get_config)."""
        return dict(getattr(self, "_config", {"name": self.name}))

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def build_for(self, x: torch.Tensor) -> None:
        """Build on first call from a real input, on its device and dtype."""
        if not self.built:
            self.build(tuple([None] * (x.dim() - 1)) + (x.shape[-1],))
            self.to(device=x.device, dtype=x.dtype)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"
