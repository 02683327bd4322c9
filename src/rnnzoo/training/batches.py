"""Turning (x, y, lengths) into device batches, in Keras' order.

Keras' ``fit(shuffle=True)`` draws a fresh permutation of the whole training
set at the start of every epoch and cuts it into ceil(N / batch_size) batches;
the last batch holds the N mod batch_size leftovers (60000 / 64 -> 938 steps,
the last of 32 samples). ``evaluate`` walks the data in order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch

from .objectives import ClassAtLastStep, Objective


@runtime_checkable
class Examples(Protocol):
    """What `fit` and `evaluate` draw batches from: N examples, any subset of them on request.

    A `Dataset` of arrays is one; a task that generates its examples (rnnzoo.tasks) is another,
    making each batch from its indices so that nothing of size N is ever held in memory.
    """

    def __len__(self) -> int: ...

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(x, y, lengths or None) of the examples at `indices`, on the host."""
        ...


def steps(examples: Examples, batch_size: int) -> int:
    return math.ceil(len(examples) / batch_size)


@dataclass(frozen=True)
class Dataset:
    """Validated tensors, kept where the caller had them (usually host memory)."""

    x: torch.Tensor  # (N, T, F) float
    y: torch.Tensor  # (N, ...) targets: int64 labels or float values, as the objective wants
    lengths: torch.Tensor | None  # (N,) int64 per-sample lengths, or None

    def __len__(self) -> int:
        return self.x.shape[0]

    def batch(self, indices: torch.Tensor):
        lengths = None if self.lengths is None else self.lengths[indices.to(self.lengths.device)]
        return self.x[indices.to(self.x.device)], self.y[indices.to(self.y.device)], lengths


def as_dataset(x, y, lengths=None, objective: Objective | None = None) -> Dataset:
    """Accept numpy arrays or tensors; check shapes and dtypes once, up front.

    The targets are checked by `objective` (default: one class label per sequence).
    """
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if x.ndim != 3 or not x.is_floating_point():
        raise ValueError(f"x: expected a float array of shape (N, T, F), got {x.dtype} {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("x: expected at least one sample, got N=0")
    finite = torch.isfinite(x).flatten(1).all(dim=1)
    if not finite.all():
        raise ValueError(f"x: expected finite values, got NaN or Inf in sample {int((~finite).nonzero()[0])}")
    if y.ndim == 0 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y: expected one target per sample ({x.shape[0]}), got {y.dtype} {tuple(y.shape)}")
    y = (objective or ClassAtLastStep()).check_targets(y, x.shape[1])
    if lengths is not None:
        lengths = torch.as_tensor(np.asarray(lengths) if not isinstance(lengths, torch.Tensor) else lengths)
        if lengths.shape != (x.shape[0],) or lengths.is_floating_point() or lengths.dtype == torch.bool:
            raise ValueError(
                f"lengths: expected integer lengths of shape ({x.shape[0]},), got {lengths.dtype} {tuple(lengths.shape)}"
            )
        lengths = lengths.long()
    return Dataset(x, y, lengths)


def epoch_order(n: int, shuffle: bool, generator: torch.Generator) -> torch.Tensor:
    """This epoch's sample order: a fresh permutation, or 0..n-1 without shuffling."""
    return torch.randperm(n, generator=generator) if shuffle else torch.arange(n)


def batches(
    data: Examples, order: torch.Tensor, batch_size: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]:
    """Yield (x, y, lengths) batches in ``order``, each moved to ``device``.

    Only one batch at a time is copied to the device, so the data set itself
    stays where it is (a data set already on the device is indexed in place).
    """
    for start in range(0, len(order), batch_size):  # a resumed epoch passes only its remaining order
        x, y, lengths = data.batch(order[start : start + batch_size])
        yield (
            x.to(device, non_blocking=True),
            y.to(device, non_blocking=True),
            None if lengths is None else lengths.to(device),
        )
