"""Keras' epoch metrics: running, sample-weighted means of the batch loss and the task's metrics.

After batches b = 1..k of sizes n_b, with batch-mean loss L_b and per-sequence scores m_bi
(the objective's metrics, e.g. 1 when argmax of the logits == label)::

    loss   = sum_b n_b * L_b      / sum_b n_b      (Keras' Mean metric, weight = batch size)
    metric = sum_b sum_i m_bi     / sum_b n_b      (e.g. sparse_categorical_accuracy)

The sums stay tensors on the training device, so updating them never waits for
the device; a float is only read when someone asks (``.item()`` once per epoch,
or when a live progress bar refreshes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .objectives import Objective


@dataclass(frozen=True)
class BatchLog:
    """What callbacks see after one batch. Tensor fields are 0-d, detached, on the device.

    The running sums are snapshots (never updated in place), so a callback may keep
    a ``BatchLog`` and read it later. ``sums`` holds "loss" and each metric.
    """

    step: int  # 0-based index of the batch within the epoch
    size: int  # samples in this batch
    loss: torch.Tensor  # this batch's mean loss
    seen: int  # samples so far this epoch, this batch included
    sums: dict[str, torch.Tensor]  # sum_b n_b * L_b for "loss", sum of per-sequence scores for a metric

    def mean(self, name: str) -> torch.Tensor:
        """The running mean of "loss" or a metric over this epoch so far."""
        return self.sums[name] / self.seen

    @property
    def mean_loss(self) -> torch.Tensor:
        return self.mean("loss")


class RunningMetrics:
    """Accumulates one epoch (or one evaluation) of batch results."""

    def __init__(self) -> None:
        self.steps = 0
        self.seen = 0
        # Tensors from the first update on, on the loss' device; Python numbers only when restored
        # from an old checkpoint between epochs.
        self.sums: dict[str, torch.Tensor | float] = {}

    def update(self, objective: Objective, outputs: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> BatchLog:
        size = target.shape[0]
        loss = loss.detach()
        batch = {"loss": loss * size, **objective.metric_sums(outputs, target)}
        # Out-of-place sums: earlier BatchLogs keep their own snapshot.
        self.sums = {name: value + self.sums.get(name, 0) for name, value in batch.items()}
        self.seen += size
        log = BatchLog(self.steps, size, loss, self.seen, self.sums)
        self.steps += 1
        return log

    def result(self) -> tuple[float, dict[str, float]]:
        """(mean loss, {metric: mean}) as floats; reading them is where an epoch waits for the device."""
        if self.seen == 0:
            raise ValueError("no batches were seen")
        means = {name: float(value) / self.seen for name, value in self.sums.items()}
        return means.pop("loss"), means
