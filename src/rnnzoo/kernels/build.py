"""Build (once) and load the native CPU kernels in `native/` (one extension from all its .cpp files).

The extension is compiled with torch.utils.cpp_extension on first use, into

    $RNNZOO_CACHE_DIR/build/<key>   (else $XDG_CACHE_HOME/rnnzoo/build/<key>, else ~/.cache/rnnzoo/build/<key>)

where <key> hashes the sources and headers, the torch version, the Python version and this CPU's
instruction flags (the code is built with -march=native), so a later process loads the cached
library in well under a second. One message is printed while it builds (about a minute on two
cores). Each load marks its folder as used; after a build, all but the KEEP most recently used
folders are removed (one per source version otherwise piles up; the ones kept serve
other torch or Python versions on the same machine). If it cannot be built (no C++ compiler, no
ninja, a compile error), `native()` returns None after one warning, and the fused runner uses its
pure-PyTorch engine instead (`portable.py`).

`rnnzoo.kernels.configure(native=False)` leaves the native kernels out altogether.
"""

import hashlib
import os
import platform
import re
import shutil
import sys
import warnings
from pathlib import Path

import torch

from .. import paths
from . import settings

NATIVE = Path(__file__).parent / "native"
SOURCES = sorted(NATIVE.glob("*.cpp"))
HEADERS = sorted(NATIVE.glob("*.h"))  # not compiled on their own, but part of the build key
CFLAGS = ["-O3", "-march=native", "-fopenmp", "-fno-math-errno"]
KEEP = 3  # build folders kept after a build, the most recently used first
FOLDER = re.compile(r"recurrent-[0-9a-f]{16}")  # what build_dir() names; nothing else is ever removed

_state: dict = {}  # "module": the loaded extension or None once tried


def build_dir() -> Path:
    return paths.cache_dir() / "build" / f"recurrent-{build_key()}"


def build_key() -> str:
    digest = hashlib.sha256()
    for source in SOURCES + HEADERS:
        digest.update(source.name.encode() + source.read_bytes())
    for part in (torch.__version__, sys.version, platform.machine(), " ".join(CFLAGS), _cpu_flags()):
        digest.update(part.encode())
    return digest.hexdigest()[:16]


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


def native():
    """The compiled extension module, building it on first call; None if it can't be had or is
    configured off (`configure(native=False)`)."""
    if not settings.current().native:
        return None
    if "module" not in _state:
        _state["module"] = _load()
    return _state["module"]


def prune(builds: Path, keep: int = KEEP) -> list[Path]:
    """Removes all but the `keep` most recently used build folders under `builds`; returns the removed.

    Only folders named as build_dir() names them are considered. A process still running an older
    build keeps its loaded library (the file stays mapped until it exits).
    """
    folders = [entry for entry in builds.iterdir() if entry.is_dir() and FOLDER.fullmatch(entry.name)]
    folders.sort(key=lambda folder: folder.stat().st_mtime, reverse=True)
    for folder in folders[keep:]:
        shutil.rmtree(folder, ignore_errors=True)
    return folders[keep:]


def _load():
    folder = build_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        from torch.utils import cpp_extension

        built = any(folder.glob("*.so"))
        if not built:
            print(f"rnnzoo: compiling the native kernels (once, about a minute) into {folder} ...",
                  file=sys.stderr, flush=True)
        module = cpp_extension.load(
            name="rnnzoo_recurrent", sources=[str(source) for source in SOURCES], build_directory=str(folder),
            extra_cflags=CFLAGS, extra_ldflags=["-fopenmp"], verbose=False,
        )
        os.utime(folder)  # used now
        if not built:
            prune(folder.parent)
        return module
    except Exception as error:  # no compiler, no ninja, a failed build: fall back, once, loudly
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        warnings.warn(
            f"rnnzoo: could not build the native recurrent kernels ({first_line}); using the pure-PyTorch "
            "fused path instead, which is slower. Install a C++ compiler and ninja to get the fast kernels.",
            RuntimeWarning, stacklevel=3,
        )
        return None
