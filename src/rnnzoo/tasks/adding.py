"""The adding problem (Hochreiter & Schmidhuber 1997; IndRNN, Li et al. 2018, at T up to 5000).

Each of T steps carries two inputs: a value drawn from U(0, 1) and a marker that is 1 at exactly
two steps, one in each half of the sequence (positions uniform in [0, T//2) and [T//2, T)), and 0
elsewhere. The target is the sum of the two marked values; the loss is the mean squared error.
Answering 1 whatever the input scores the variance of that sum, 2 · 1/12 = 1/6 ≈ 0.167; the
literature calls the task solved at a test MSE below 0.01.
"""

from __future__ import annotations

import numpy as np
import torch

from ..training import ValueAtLastStep
from .task import Task, TaskError, generated_sets, positive_length

TRAIN_EXAMPLES, TEST_EXAMPLES = 20_000, 2_000  # `train_limit` / `test_limit` when not given


class Adding(Task):
    name, features = "adding", 2
    baseline, solved = {"loss": 1 / 6}, {"loss": 0.01}

    def __init__(self, length):
        self.steps = positive_length(length, "adding")
        if self.steps < 2:
            raise TaskError(f"data.length: the adding task needs at least 2 steps, one per half, got {self.steps}")
        self.objective = ValueAtLastStep()

    def __str__(self) -> str:
        return f"adding, T = {self.steps}"

    def make(self, u: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Uniforms (B, T + 2) -> x (B, T, 2), y (B,): the values, then the two marker positions."""
        steps, half = self.steps, self.steps // 2
        values = u[:, :steps].astype(np.float32)
        rows = np.arange(len(u))
        first = (u[:, steps] * half).astype(np.int64)
        second = half + (u[:, steps + 1] * (steps - half)).astype(np.int64)
        markers = np.zeros_like(values)
        markers[rows, first] = markers[rows, second] = 1.0
        target = values[rows, first] + values[rows, second]
        return torch.from_numpy(np.stack([values, markers], axis=-1)), torch.from_numpy(target)

    def examples(self, seed, train_limit=None, test_limit=None, *, cache_dir=None, dataset=None):
        return generated_sets(self.make, self.steps + 2, seed, train_limit, test_limit,
                              TRAIN_EXAMPLES, TEST_EXAMPLES)

