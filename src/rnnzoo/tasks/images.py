"""MNIST and Fashion-MNIST read as sequences, in three views of each 28 × 28 image:

    rows             28 steps of 28 pixels: the notebook's view (the default)
    pixels           784 steps of 1 pixel, row by row: sequential MNIST (Le et al. 2015)
    permuted_pixels  784 steps of 1 pixel in one fixed shuffled order: permuted MNIST, which breaks
                     the local structure so the model must carry information across the whole image

Pixels are scaled to [0, 1] as the notebook does (/255). The permutation is
`draws.permutation(784, PERMUTATION_SEED)`: the stable argsort of 784 raw Philox words, the same on
every machine. The trivial baseline is a uniform guess: accuracy 1/10, loss ln 10.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import data as datasets
from ..training import ClassAtLastStep, Dataset
from . import draws
from .task import Task, TaskError

VIEWS = ("rows", "pixels", "permuted_pixels")
SIDE, CLASSES = 28, 10
PERMUTATION_SEED = 0


class Images(Task):
    baseline = {"loss": math.log(CLASSES), "accuracy": 1 / CLASSES}

    def __init__(self, name: str, view: str | None = None):
        view = view or "rows"
        if view not in VIEWS:
            raise TaskError(f"data.view: unknown view {view!r}; expected one of {', '.join(VIEWS)}")
        self.name, self.view = name, view
        self.steps, self.features = (SIDE, SIDE) if view == "rows" else (SIDE * SIDE, 1)
        self.objective = ClassAtLastStep(classes=CLASSES)

    def __str__(self) -> str:
        return f"{self.name}, {self.view}"

    def sequences(self, images: np.ndarray) -> torch.Tensor:
        """uint8 images (N, 28, 28) -> float32 sequences (N, steps, features) in this view."""
        x = torch.from_numpy(datasets.rows(images))
        if self.view == "rows":
            return x
        x = x.reshape(len(x), SIDE * SIDE, 1)
        if self.view == "permuted_pixels":
            x = x[:, torch.from_numpy(draws.permutation(SIDE * SIDE, PERMUTATION_SEED))]
        return x

    def examples(self, seed, train_limit=None, test_limit=None, *, cache_dir=None, dataset=None):
        """The data set's fixed split (`seed` only shuffles, in `fit`), cut to the first examples."""
        dataset = dataset or datasets.load(self.name, cache_dir=cache_dir)
        labels = lambda y: torch.from_numpy(y.astype(np.int64))
        return (Dataset(self.sequences(dataset.x_train[:train_limit]), labels(dataset.y_train[:train_limit]), None),
                Dataset(self.sequences(dataset.x_test[:test_limit]), labels(dataset.y_test[:test_limit]), None))
