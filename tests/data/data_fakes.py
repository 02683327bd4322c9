"""Test helpers for tests/data: a tiny fake dataset, fake sources, IDX writers.

A uniquely named module (not conftest) so ``from data_fakes import ...`` cannot
pick up another folder's conftest when the whole suite runs.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from rnnzoo.data import sources
from rnnzoo.data.errors import DataError
from rnnzoo.data.idx import encode_idx


def make_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, (6,), dtype=np.uint8),
        "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, (3,), dtype=np.uint8),
    }


class FakeSource:
    """A source that returns fixed arrays (or raises) and counts how often it was asked."""

    def __init__(self, name: str, arrays: dict[str, np.ndarray] | None = None, error: str = "offline"):
        self.name = name
        self.arrays = arrays
        self.error = error
        self.calls = 0

    def fetch(self, workdir: Path, log) -> dict[str, np.ndarray]:
        self.calls += 1
        if self.arrays is None:
            raise DataError(self.error)
        return {k: v.copy() for k, v in self.arrays.items()}


def write_idx_dir(folder: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write the four arrays as gzip'd IDX files with the standard MNIST names."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, filename in sources.IDX_FILES.items():
        (folder / filename).write_bytes(gzip.compress(encode_idx(arrays[key])))
    return folder


class Tiny:
    """Handle returned by the ``tiny`` fixture."""

    def __init__(self, arrays, monkeypatch):
        self.arrays = arrays
        self.monkeypatch = monkeypatch
        self.messages: list[str] = []

    def log(self, message: str) -> None:
        self.messages.append(message)

    def use_sources(self, *srcs) -> None:
        self.monkeypatch.setitem(sources.SOURCES, "mnist", tuple(srcs))
