"""Keras' weight and activity regularizers, and the losses a model collects from them.

    L1(l1=0.01)            l1 · Σ|w|
    L2(l2=0.01)            l2 · Σw²
    L1L2(l1=0.0, l2=0.0)   both

A layer takes each as an object (`L2(0.01)`), a name with Keras' default factor ("l1", "l2";
"l1_l2" is l1 = l2 = 0.01, as Keras documents it), a TOML-style table (`{"l2": 0.01}`, `{"l1":
0.01, "l2": 0.001}`), or any callable from a tensor to a scalar. Weight regularizers
(`kernel_regularizer`, `recurrent_regularizer`, `bias_regularizer`) are computed from the current
weights whenever `losses` is read; an `activity_regularizer` is applied to each tensor a layer
returns at its last call, divided by the batch size (Keras 3), so it is fresh each forward.
`regularization_loss(model)` is their sum, what `fit` adds to the task loss.
"""

from collections.abc import Callable

import torch
from torch import nn


class L1L2:
    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"regularizer factor {name} must be a number >= 0, got {value!r}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        loss = w.new_zeros(())
        if self.l1:
            loss = loss + self.l1 * w.abs().sum()
        if self.l2:
            loss = loss + self.l2 * w.square().sum()
        return loss

    def __repr__(self) -> str:
        return f"{type(self).__name__}(l1={self.l1}, l2={self.l2})"


class L1(L1L2):
    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def __repr__(self) -> str:
        return f"L1({self.l1})"


class L2(L1L2):
    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def __repr__(self) -> str:
        return f"L2({self.l2})"


NAMES = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}


def get(identifier) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A regularizer from a name, a table of factors ({"l1": .., "l2": ..}), a callable or None."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str):
        if identifier not in NAMES:
            raise ValueError(f"unknown regularizer {identifier!r}; expected one of {', '.join(NAMES)}, "
                             "a table like {l2 = 0.01} or a callable")
        return NAMES[identifier]()
    if isinstance(identifier, dict):
        unknown = set(identifier) - {"l1", "l2"}
        if not identifier or unknown:
            raise ValueError(f"a regularizer table takes the factors l1 and/or l2, got {dict(identifier)!r}")
        return L1L2(**identifier) if len(identifier) == 2 else NAMES[next(iter(identifier))](*identifier.values())
    raise ValueError(f"a regularizer must be a name, a table of factors or a callable, got {identifier!r}")


def collect_losses(module: nn.Module) -> list[torch.Tensor]:
    """Every regularization loss of module and its submodules (Keras' `layer.losses`)."""
    losses = []
    for m in module.modules():
        losses += getattr(m, "activity_losses", [])
        if hasattr(m, "weight_regularizers"):
            losses += [regularizer(w) for w, regularizer in m.weight_regularizers()]
    return losses


def activity_losses(regularizer, outputs) -> list[torch.Tensor]:
    """Keras 3's activity losses: the regularizer of each returned tensor over its batch size."""
    if regularizer is None:
        return []
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    return [regularizer(o) / o.shape[0] for o in outputs]


def regularization_loss(model: nn.Module) -> torch.Tensor | float:
    """The sum of the model's regularization losses, 0.0 when it has none."""
    losses = collect_losses(model)
    return torch.stack(losses).sum() if losses else 0.0
