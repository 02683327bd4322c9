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

import numpy as np
import torch


@dataclass(frozen=True)
class Dataset:
    """Validated tensors, kept where the caller had them (usually host memory)."""

    x: torch.Tensor  # (N, T, F) float
    y: torch.Tensor  # (N,) int64 class labels
    lengths: torch.Tensor | None  # (N,) int64 per-sample lengths, or None

    def __len__(self) -> int:
        return self.x.shape[0]

    def steps(self, batch_size: int) -> int:
        return math.ceil(len(self) / batch_size)


def as_dataset(x, y, lengths=None) -> Dataset:
    """Accept numpy arrays or tensors; check shapes and dtypes once, up front."""
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
    if x.ndim != 3 or not x.is_floating_point():
        raise ValueError(f"x: expected a float array of shape (N, T, F), got {x.dtype} {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("x: expected at least one sample, got N=0")
    finite = torch.isfinite(x).flatten(1).all(dim=1)
    if not finite.all():
        raise ValueError(f"x: expected finite values, got NaN or Inf in sample {int((~finite).nonzero()[0])}")
    if y.shape != (x.shape[0],) or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"y: expected integer labels of shape ({x.shape[0]},), got {y.dtype} {tuple(y.shape)}")
    if lengths is not None:
        lengths = torch.as_tensor(np.asarray(lengths) if not isinstance(lengths, torch.Tensor) else lengths)
        if lengths.shape != (x.shape[0],) or lengths.is_floating_point() or lengths.dtype == torch.bool:
            raise ValueError(
                f"lengths: expected integer lengths of shape ({x.shape[0]},), got {lengths.dtype} {tuple(lengths.shape)}"
            )
        lengths = lengths.long()
    return Dataset(x, y.long(), lengths)


def epoch_order(n: int, shuffle: bool, generator: torch.Generator) -> torch.Tensor:
    """This epoch's sample order: a fresh permutation, or 0..n-1 without shuffling."""
    return torch.randperm(n, generator=generator) if shuffle else torch.arange(n)


def batches(
    data: Dataset, order: torch.Tensor, batch_size: int, device: torch.device
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]:
    """Yield (x, y, lengths) batches in ``order``, each moved to ``device``.

    Only one batch at a time is copied to the device, so the data set itself
    stays where it is (a data set already on the device is indexed in place).
    """
    order = order.to(data.x.device)
    for start in range(0, len(order), batch_size):  # a resumed epoch passes only its remaining order
        idx = order[start : start + batch_size]
        lengths = None if data.lengths is None else data.lengths[idx.to(data.lengths.device)].to(device)
        yield (
            data.x[idx].to(device, non_blocking=True),
            data.y[idx.to(data.y.device)].to(device, non_blocking=True),
            lengths,
        )
