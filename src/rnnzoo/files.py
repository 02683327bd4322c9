"""Writing files whole or not at all, so a crash or a full disk never leaves a damaged one.

A file is written to a temporary name in its own folder, flushed and fsynced, then renamed over
the target (a rename within one file system is atomic); on any failure the temporary file is
removed and the target is untouched.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_open(path: str | os.PathLike, mode: int = 0o644) -> Iterator[BinaryIO]:
    """`with atomic_open(path) as f: f.write(...)` replaces `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600; these files are not secrets
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)  # only our own temporary file is ever removed
        raise


def atomic_write(path: str | os.PathLike, payload: bytes) -> None:
    with atomic_open(path) as out:
        out.write(payload)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Persist the renames in a folder too; best effort, since not every OS allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
