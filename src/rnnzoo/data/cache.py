"""On-disk cache: ``<cache_dir>/<name>/<array>.npy``, written atomically, verified on read.

Anything wrong with a cached file (missing, truncated, corrupt, wrong checksum)
makes :func:`read_cache` return ``None`` after logging why, so the caller
re-fetches; a bad cache is never used and never crashes a run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np

from ..files import atomic_open, fsync_dir
from .errors import DataError

Log = Callable[[str], object]


def sha256_of(array: np.ndarray) -> str:
    """SHA-256 of the array's raw C-order bytes (the value the checksum tables hold)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def read_cache(
    folder: Path, checksums: dict[str, str], shapes: dict[str, tuple[int, ...]], log: Log
) -> dict[str, np.ndarray] | None:
    """Load every array named in ``checksums`` from ``folder``, or ``None`` if any is unusable."""
    if not folder.is_dir():
        return None  # never cached: nothing worth reporting
    arrays = {}
    for key, expected in checksums.items():
        path = folder / f"{key}.npy"
        if not path.is_file():
            log(f"cache file {path} is missing; re-fetching")
            return None
        try:
            array = np.load(path, allow_pickle=False)
        except Exception as exc:  # np.load raises many types for damaged files; any means "unusable"
            log(f"cache file {path} is corrupt ({type(exc).__name__}: {exc}); re-fetching")
            return None
        if array.dtype != np.uint8 or array.shape != shapes[key]:
            log(f"cache file {path} is corrupt (expected uint8 {shapes[key]}, got {array.dtype} {array.shape}); re-fetching")
            return None
        if sha256_of(array) != expected:
            log(f"cache file {path} is corrupt (checksum mismatch); re-fetching")
            return None
        arrays[key] = array
    return arrays


def write_cache(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write each array to ``folder/<key>.npy`` atomically (temp file + fsync + rename).

    A reader, or a crash half-way, can therefore only ever see whole files: old or new.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for key, array in arrays.items():
            with atomic_open(folder / f"{key}.npy") as out:
                np.save(out, array, allow_pickle=False)
        fsync_dir(folder)
    except OSError as exc:
        raise DataError(f"cannot write cache {folder}: {exc.strerror or exc}") from None
