"""The copy task (Arjovsky, Shah & Bengio 2016, "Unitary evolution recurrent neural networks").

Symbols: 0 is the blank, 1-8 the data alphabet, 9 the delimiter; each step's input is the one-hot
vector of its symbol (10 features). An example is T + 20 steps long:

    input   s1 .. s10   0 .. 0 (T - 1)   9   0 .. 0 (10)
    target  0 .. 0 (T + 10)                  s1 .. s10

with s1..s10 drawn uniformly from 1-8. The model answers a class out of 10 at every step; the loss
is the cross-entropy averaged over all T + 20 steps. A model that outputs blanks and then guesses
uniformly among the 8 symbols scores 10 · ln 8 / (T + 20), the baseline that memoryless models
plateau at; its recall accuracy (the last 10 steps) is 1/8.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..training import ClassAtEveryStep
from .task import Task, generated_sets, positive_length

SYMBOLS, ALPHABET, DELIMITER = 10, 8, 9
RECALL = 10  # symbols to remember
TRAIN_EXAMPLES, TEST_EXAMPLES = 20_000, 2_000  # `train_limit` / `test_limit` when not given


class Copy(Task):
    name, features = "copy", SYMBOLS
    solved = {}

    def __init__(self, length):
        self.length = positive_length(length, "copy")
        self.steps = self.length + 2 * RECALL
        self.objective = ClassAtEveryStep(classes=SYMBOLS, scored_steps=RECALL)
        self.baseline = {"loss": RECALL * math.log(ALPHABET) / self.steps, "accuracy": 1 / ALPHABET}

    def __str__(self) -> str:
        return f"copy, T = {self.length}"

    def make(self, u: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Uniforms (B, 10) -> one-hot x (B, T + 20, 10), labels y (B, T + 20)."""
        data = 1 + (u * ALPHABET).astype(np.int64)
        inputs = np.zeros((len(u), self.steps), dtype=np.int64)
        inputs[:, :RECALL] = data
        inputs[:, RECALL + self.length - 1] = DELIMITER
        targets = np.zeros_like(inputs)
        targets[:, -RECALL:] = data
        x = np.eye(SYMBOLS, dtype=np.float32)[inputs]
        return torch.from_numpy(x), torch.from_numpy(targets)

    def examples(self, seed, train_limit=None, test_limit=None, *, cache_dir=None, dataset=None):
        return generated_sets(self.make, RECALL, seed, train_limit, test_limit, TRAIN_EXAMPLES, TEST_EXAMPLES)
