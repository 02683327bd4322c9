"""Tiny models and data for the training tests; nothing from the rest of rnnzoo."""

import numpy as np
import pytest
import torch
from torch import nn


class MeanLinear(nn.Module):
    """Mean over time, optional dropout, then a linear layer: (B, T, F) -> (B, C)."""

    def __init__(self, features: int, classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(features, classes)

    def forward(self, x):
        return self.linear(self.dropout(x.mean(dim=1)))


class Spy(MeanLinear):
    """Records what ``fit``/``evaluate`` feed it. Feature 0 at t=0 carries the sample id."""

    def __init__(self, features: int, classes: int) -> None:
        super().__init__(features, classes)
        self.ids: list[torch.Tensor] = []
        self.lengths: list[torch.Tensor | None] = []
        self.modes: list[bool] = []
        self.grad_enabled: list[bool] = []

    def forward(self, x, lengths=None):
        self.ids.append(x[:, 0, 0].detach().long().clone())
        self.lengths.append(None if lengths is None else lengths.clone())
        self.modes.append(self.training)
        self.grad_enabled.append(torch.is_grad_enabled())
        return super().forward(x[:, :, 1:])


def separable(n: int = 200, t: int = 4, f: int = 3, classes: int = 3, seed: int = 0):
    """Each class has its own mean vector; classes far apart, so they are separable."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    centres = rng.normal(scale=3.0, size=(classes, f))
    x = centres[y][:, None, :] + rng.normal(scale=0.5, size=(n, t, f))
    return x.astype(np.float32), y


def with_ids(n: int, t: int = 3, f: int = 2, classes: int = 3, seed: int = 0):
    """Random data whose feature 0 at t=0 is the sample index (for ``Spy``)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, f + 1)).astype(np.float32)
    x[:, 0, 0] = np.arange(n)
    return x, rng.integers(0, classes, size=n)


@pytest.fixture
def spy():
    torch.manual_seed(0)
    return Spy(features=2, classes=3)


@pytest.fixture
def mean_linear():
    return MeanLinear


@pytest.fixture
def toy_data():
    return separable


@pytest.fixture
def id_data():
    return with_ids
