"""A task: what the model reads (features per step, steps), what it must answer (an objective),
the trivial baseline to beat, and where its train and test examples come from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..training import Examples, Objective
from . import draws


class TaskError(ValueError):
    """A task configuration that can't be used; the message starts with the `[data]` key at fault."""


class Task:
    """The base of the zoo's tasks; each subclass documents its data and sets these attributes."""

    name: str  # the `[data] dataset` value
    steps: int  # time steps per example
    features: int  # inputs per step
    objective: Objective
    baseline: dict[str, float]  # what a model that learns nothing scores, per metric
    solved: dict[str, float] = {}  # a test score the literature calls solved, where it names one

    def examples(self, seed: int, train_limit: int | None = None, test_limit: int | None = None, *,
                 cache_dir=None, dataset=None) -> tuple[Examples, Examples]:
        """(train, test): the training set drawn for `seed`, and the fixed test set."""
        raise NotImplementedError

    def describe(self) -> dict:
        """A plain-data summary for result.json and reports."""
        return {"name": self.name, "title": str(self), "steps": self.steps, "features": self.features,
                **self.objective.describe(), "baseline": self.baseline, "solved": self.solved}


@dataclass(frozen=True)
class Generated:
    """Examples made on request: example i is `make(uniforms of example i)`, nothing stored.

    `make` turns a (batch, draws) array of uniforms into (x, y) tensors for that batch.
    """

    make: Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]]
    count: int
    draws: int  # uniforms per example
    seed: int
    split: int  # draws.TRAIN or draws.TEST

    def __len__(self) -> int:
        return self.count

    def batch(self, indices: torch.Tensor):
        x, y = self.make(draws.uniforms(self.seed, self.split, indices.tolist(), self.draws))
        return x, y, None


def positive_length(length, dataset: str) -> int:
    if length is None:
        raise TaskError(f"data.length: the {dataset} task needs a sequence length, e.g. length = 100")
    if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
        raise TaskError(f"data.length: expected a positive integer, got {length!r}")
    return length


def generated_sets(make, draws_per_example: int, seed: int, train_limit: int | None,
                   test_limit: int | None, train_default: int, test_default: int) -> tuple[Generated, Generated]:
    """A generated task's train set (drawn from `seed`) and its fixed test set (drawn from draws.TEST_SEED)."""
    return (Generated(make, train_limit or train_default, draws_per_example, seed, draws.TRAIN),
            Generated(make, test_limit or test_default, draws_per_example, draws.TEST_SEED, draws.TEST))
