"""Keras' weight constraints: a projection applied to a weight after every optimizer step.

    MaxNorm(max_value=2, axis=0)      w · clip(‖w‖, 0, max) / (ε + ‖w‖)
    NonNeg()                          max(w, 0)
    UnitNorm(axis=0)                  w / (ε + ‖w‖)
    MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0)
                                      w · (rate · clip(‖w‖, min, max) + (1 - rate) · ‖w‖) / (ε + ‖w‖)

‖w‖ is the norm along `axis` (Keras: axis 0 of a kernel (F, G·U) is each unit's incoming
weights), ε = 1e-7 (Keras' epsilon). A layer takes each as an object, a name with Keras' defaults
("max_norm", "non_neg", "unit_norm", "min_max_norm"), a table naming one with its first argument
or its arguments (`{"max_norm": 3}`, `{"min_max_norm": {"min_value": 0.5, "max_value": 1}}`),
or any callable from a tensor to a tensor. `apply_constraints(model)` is what `fit` calls after
`optimizer.step()`.
"""

import torch
from torch import nn

EPSILON = 1e-7


def _norms(w: torch.Tensor, axis) -> torch.Tensor:
    return w.square().sum(dim=axis, keepdim=True).sqrt()


class MaxNorm:
    def __init__(self, max_value: float = 2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        return w * (norms.clamp(0, self.max_value) / (EPSILON + norms))

    def __repr__(self) -> str:
        return f"MaxNorm(max_value={self.max_value}, axis={self.axis})"


class NonNeg:
    def __call__(self, w):
        return w.clamp(min=0)

    def __repr__(self) -> str:
        return "NonNeg()"


class UnitNorm:
    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (EPSILON + _norms(w, self.axis))

    def __repr__(self) -> str:
        return f"UnitNorm(axis={self.axis})"


class MinMaxNorm:
    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (EPSILON + norms))

    def __repr__(self) -> str:
        return (f"MinMaxNorm(min_value={self.min_value}, max_value={self.max_value}, rate={self.rate}, "
                f"axis={self.axis})")


NAMES = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}


def get(identifier):
    """A constraint from a name, a one-entry table ({"max_norm": 3} or {"max_norm": {...}}), a
    callable or None."""
    if identifier is None or callable(identifier):
        return identifier
    expected = (f"expected one of {', '.join(NAMES)}, a table like {{max_norm = 3}} or a callable")
    if isinstance(identifier, str):
        if identifier not in NAMES:
            raise ValueError(f"unknown constraint {identifier!r}; {expected}")
        return NAMES[identifier]()
    if isinstance(identifier, dict) and len(identifier) == 1:
        (name, arguments), = identifier.items()
        if name not in NAMES:
            raise ValueError(f"unknown constraint {name!r}; {expected}")
        try:
            return NAMES[name](**arguments) if isinstance(arguments, dict) else NAMES[name](arguments)
        except TypeError as error:
            raise ValueError(f"constraint {name}: {error}") from None
    raise ValueError(f"a constraint must be a name, a one-entry table or a callable, got {identifier!r}")


@torch.no_grad()
def apply_constraints(model: nn.Module) -> None:
    """Project every constrained weight of the model in place (Keras: after each update)."""
    for m in model.modules():
        if hasattr(m, "weight_constraints"):
            for w, constraint in m.weight_constraints():
                w.copy_(constraint(w))
