"""Keras' epoch metrics: running, sample-weighted means of the batch loss and accuracy.

After batches b = 1..k of sizes n_b, with batch-mean loss L_b and c_b correct
predictions (argmax of the logits == label)::

    loss     = sum_b n_b * L_b / sum_b n_b      (Keras' Mean metric, weight = batch size)
    accuracy = sum_b c_b       / sum_b n_b      (sparse_categorical_accuracy, same weighting)

The sums stay tensors on the training device, so updating them never waits for
the device; a float is only read when someone asks (``.item()`` once per epoch,
or when a live progress bar refreshes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class BatchLog:
    """What callbacks see after one batch. Tensor fields are 0-d, detached, on the device.

    The running sums are snapshots (never updated in place), so a callback may keep
    a ``BatchLog`` and read it later.
    """

    step: int  # 0-based index of the batch within the epoch
    size: int  # samples in this batch
    loss: torch.Tensor  # this batch's mean loss
    correct: torch.Tensor  # this batch's number of correct predictions
    seen: int  # samples so far this epoch, this batch included
    loss_sum: torch.Tensor  # sum_b n_b * L_b so far
    correct_sum: torch.Tensor  # sum_b c_b so far

    @property
    def accuracy(self) -> torch.Tensor:
        return self.correct / self.size

    @property
    def mean_loss(self) -> torch.Tensor:
        return self.loss_sum / self.seen

    @property
    def mean_accuracy(self) -> torch.Tensor:
        return self.correct_sum / self.seen


class RunningMetrics:
    """Accumulates one epoch (or one evaluation) of batch results."""

    def __init__(self) -> None:
        self.steps = 0
        self.seen = 0
        # Python zeros become tensors on the first update, on the loss' device and dtype.
        self.loss_sum: torch.Tensor | float = 0.0
        self.correct_sum: torch.Tensor | int = 0

    def update(self, logits: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> BatchLog:
        size = target.shape[0]
        loss = loss.detach()
        correct = (logits.detach().argmax(dim=-1) == target).sum()
        # Out-of-place sums: earlier BatchLogs keep their own snapshot.
        self.loss_sum = loss * size + self.loss_sum
        self.correct_sum = correct + self.correct_sum
        self.seen += size
        log = BatchLog(self.steps, size, loss, correct, self.seen, self.loss_sum, self.correct_sum)
        self.steps += 1
        return log

    def result(self) -> tuple[float, float]:
        """(mean loss, accuracy) as floats; reading them is where an epoch waits for the device."""
        if self.seen == 0:
            raise ValueError("no batches were seen")
        return float(self.loss_sum) / self.seen, float(self.correct_sum) / self.seen
