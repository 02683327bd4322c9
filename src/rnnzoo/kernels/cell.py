"""How a recurrent cell describes itself to the kernels: a plain record, never the layer itself.

The kernels import no layer. A cell (`layers/cell.py`) hands them a `CellSpec` per call:

    kind                  the step equations a fused kernel computes (Kind), or None
    activation            the cell's activation, as a function; activation_code its number in the
    recurrent_activation  C++ kernels (ACTIVATION_CODES) or None where they don't implement it
    kernel                W (F, G·U), multiplies x_t            Keras' layout: the G gates' blocks
    recurrent_kernel      U (U, G·U), multiplies h_{t-1}       side by side, in Keras' order
    input_bias            b (G·U,) added to x_t W, or None      (LSTM i f c o; GRU z r h)
    recurrent_bias        GRU's b_rec (G·U,) added to h_{t-1} U, or None

The weights are the cell's own parameters (or views of them), so autograd reaches them.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

import torch


class Kind(IntEnum):
    """The cells the fused kernels compute; the numbers are native/recurrent.cpp's `Kind`."""

    SIMPLE = 0  # h_t = act(x_t W + h_{t-1} U + b)
    LSTM = 1  # Keras' LSTM, gates i f c o
    GRU = 2  # Keras' GRU with reset_after=True, gates z r h


GATES = {Kind.SIMPLE: 1, Kind.LSTM: 4, Kind.GRU: 3}

# The activations native/recurrent.cpp implements, by Keras name, with its codes.
ACTIVATION_CODES = {"linear": 0, "tanh": 1, "sigmoid": 2, "relu": 3, "hard_sigmoid": 4}


@dataclass(frozen=True)
class CellSpec:
    name: str  # the cell's class name, for messages
    kind: Kind | None  # None: no fused kernel computes this cell's step (`reason` says why)
    activation: Callable[[torch.Tensor], torch.Tensor]
    activation_code: int | None
    recurrent_activation: Callable[[torch.Tensor], torch.Tensor] | None  # None: the cell has none (SimpleRNN)
    recurrent_activation_code: int | None
    kernel: torch.Tensor
    recurrent_kernel: torch.Tensor
    input_bias: torch.Tensor | None
    recurrent_bias: torch.Tensor | None
    recurrent_dropout: float = 0.0  # its masks act inside every product: never fused while training
    reason: str = ""
    # [(what route.plan was asked, its answer)] for this record ([] before any): a layer calls
    # with the same record (cells keep theirs, layers/cell.py) and the same kind of input over and over
    last_plan: list = field(default_factory=list, init=False, repr=False, compare=False)
    # Buffers in which the native kernels keep the weights packed between inference calls (fused.py);
    # one per call in flight, so calls from several threads never share one.
    kept_panels: list = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]

    @property
    def weights(self) -> tuple:
        """The tensors whose gradients a fused route must deliver."""
        return self.kernel, self.input_bias, self.recurrent_kernel, self.recurrent_bias
