"""Build (once) and load the native CPU kernels in `native/` (one extension from all its .cpp files).

The extension is compiled on first use, with torch.utils.cpp_extension, into

    $RNNZOO_CACHE_DIR/build/recurrent-<key>   (else $XDG_CACHE_HOME/rnnzoo/..., else ~/.cache/rnnzoo/...)

where <key> hashes what the library depends on (key_parts()): the sources and headers and the
compiler flags, the instructions asked for (`configure(isa=...)`: -march=native, or that without
AVX-512), the torch version, the Python version, this CPU's instruction flags (the code is
built with -march=native) and the environment (sys.prefix, where torch and Python's headers are,
the compiler): torch writes the environment's include paths into its build.ninja, so two
virtualenvs that shared a folder used to rebuild it in turn, silently. Each folder therefore holds
one finished build, never rebuilt: a later process imports its library directly, in well under a
second, without ninja or torch's build lock.

A build, when one is needed:
  - takes `build.lock` in the build folder's parent (locking.py: flock, released by the kernel
    when the holder dies in any way), so one process compiles while the others wait, saying so;
  - says what it compiles, where, and why (first build, the sources changed, another environment...);
  - compiles in a child process (compiler.py) in a session of its own, which dies, compilers and
    all, with the process that started it, into a private temporary folder `tmp-*`; the folder is
    renamed into place whole once the library is complete, so a kill at any moment leaves either
    no build or a finished one; a later build removes the temporary folders of killed ones;
  - stops the compile after TIMEOUT seconds (about a minute on two idle cores; several minutes on
    a busy machine), with a message;
  - removes all but the KEEP most recently used build folders (each load marks its folder used).
If it cannot be built (no C++ compiler, no ninja, a compile error, the time limit), `native()`
returns None after one warning, and the fused runner uses its pure-PyTorch engine instead
(`portable.py`).

Not at install time: pip builds a package in an isolated environment, where torch as a build
requirement is fetched anew (on Linux by default a CUDA build of several GB, not necessarily the
version installed next to rnnzoo, whose C++ ABI the library must match), and -march=native would
tie a built wheel to the building machine's CPU. A first-use build in the user's own environment
has neither problem.

`rnnzoo.kernels.configure(native=False)` leaves the native kernels out altogether.
"""

import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import warnings
from pathlib import Path

import torch

from .. import paths
from . import compiler, locking, settings

NATIVE = Path(__file__).parent / "native"
COMPILER = Path(__file__).with_name("compiler.py")
SOURCES = sorted(NATIVE.glob("*.cpp"))
HEADERS = sorted(NATIVE.glob("*.h"))  # not compiled on their own, but part of the build key
# -fno-trapping-math: the elementwise loops (exp, tanh, sigmoid, clamps) only vectorise when GCC may
# evaluate both sides of a float comparison; it changes no value, only what FP exception flags would say.
# -mprefer-vector-width=512: GCC vectorises loops 256 bits wide on Intel unless told otherwise, to
# spare cores the clock drop of 512-bit instructions; the micro-kernels run those already, so the
# elementwise loops may as well do 16 floats an instruction (no effect where AVX-512 is absent).
CFLAGS = ["-O3", "-march=native", "-mprefer-vector-width=512", "-fopenmp", "-fno-math-errno", "-fno-trapping-math"]
LDFLAGS = ["-fopenmp"]
ISA_FLAGS = {"native": [], "avx2": ["-mno-avx512f"]}  # configure(isa=...): what -march=native may use
NAME = "rnnzoo_recurrent"  # the extension's module name: the library is NAME.so (NAME_avx2.so for isa="avx2")
KEEP = 3  # build folders kept after a build, the most recently used first
FOLDER = re.compile(r"recurrent-[0-9a-f]{16}")  # what build_dir() names; nothing else is ever removed
SLOW = 180  # seconds: a compile still running then is said to be slow
TIMEOUT = 900  # seconds: a compile still running then is stopped, and so is a wait for another's

_state: dict = {}  # isa -> the loaded extension, or None once tried
_once = threading.Lock()


def native():
    """The compiled extension module, building it on first call; None if it can't be had or is
    configured off (`configure(native=False)`)."""
    current = settings.current()
    if not current.native:
        return None
    if current.isa in _state:  # loaded (or found missing) already: no lock, as every layer call asks
        return _state[current.isa]
    with _once:
        if current.isa not in _state:
            _state[current.isa] = _load()
    return _state[current.isa]


def cflags() -> list[str]:
    return CFLAGS + ISA_FLAGS[settings.current().isa]


def module_name() -> str:
    isa = settings.current().isa
    return NAME if isa == "native" else f"{NAME}_{isa}"


def build_dir() -> Path:
    return paths.cache_dir() / "build" / f"recurrent-{build_key()}"


def build_key() -> str:
    return hashlib.sha256(json.dumps(key_parts(), sort_keys=True).encode()).hexdigest()[:16]


def key_parts() -> dict[str, str]:
    """What a build depends on, by name (a build folder's key.json keeps them, to say why a new one is made)."""
    sources = hashlib.sha256()
    for source in SOURCES + HEADERS:
        sources.update(source.name.encode() + source.read_bytes())
    sources.update(" ".join(CFLAGS + LDFLAGS).encode())
    return {
        "sources": sources.hexdigest()[:16],
        "isa": " ".join([settings.current().isa] + ISA_FLAGS[settings.current().isa]),
        "torch": torch.__version__,
        "python": sys.version,
        "cpu": hashlib.sha256(f"{platform.machine()} {_cpu_flags()}".encode()).hexdigest()[:16],
        "environment": " ".join([sys.prefix, str(Path(torch.__file__).parent), sysconfig.get_paths()["include"],
                                 os.environ.get("CXX", "c++")]),
    }


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()


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
    try:
        folder = build_dir()
        if not (folder / f"{module_name()}.so").is_file():
            build(folder)
        module = _import(folder / f"{module_name()}.so")
        os.utime(folder)  # used now
        return module
    except Exception as error:  # no compiler, no ninja, a failed build: fall back, once, loudly
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        warnings.warn(
            f"rnnzoo: could not build the native recurrent kernels ({first_line}); using the pure-PyTorch "
            "fused path instead, which is slower. Install a C++ compiler and ninja to get the fast kernels.",
            RuntimeWarning, stacklevel=3,
        )
        return None


def _import(library: Path):
    """The extension module from a finished library file (torch is imported, so its libraries resolve)."""
    spec = importlib.util.spec_from_file_location(library.stem, library)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(folder: Path) -> None:
    """Compiles the library into `folder`, unless another process has by the time the lock is ours."""
    builds = folder.parent
    builds.mkdir(parents=True, exist_ok=True)
    with locking.held(builds / "build.lock", TIMEOUT + 60, f"compiling the native kernels in {builds}"):
        if (folder / f"{module_name()}.so").is_file():
            return
        for stale in builds.glob("tmp-*"):  # a killed build's: only the lock's holder makes them
            shutil.rmtree(stale, ignore_errors=True)
        print(f"rnnzoo: compiling the native kernels into {folder} ({reason(builds)}); about a minute, once ...",
              file=sys.stderr, flush=True)
        temp = Path(tempfile.mkdtemp(prefix="tmp-", dir=builds))
        try:
            start = time.monotonic()
            compile_into(temp)
            (temp / "key.json").write_text(json.dumps(key_parts(), indent=1))
            if folder.exists():  # an unfinished folder an older rnnzoo left
                shutil.rmtree(folder)
            os.rename(temp, folder)
            print(f"rnnzoo: compiled in {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        prune(builds)


def reason(builds: Path) -> str:
    """Why a build is needed: what differs from the most recently used build here, or that there is none."""
    finished = [folder for folder in builds.iterdir() if FOLDER.fullmatch(folder.name) and (folder / "key.json").is_file()]
    if not finished:
        return "first build in this cache"
    last = max(finished, key=lambda folder: folder.stat().st_mtime)
    theirs, ours = json.loads((last / "key.json").read_text()), key_parts()
    theirs.setdefault("isa", "native")  # builds from before configure(isa=...)
    changed = [name for name in ours if theirs.get(name) != ours[name]]
    words = {"sources": "the sources changed", "torch": f"torch {ours['torch']} (was {theirs.get('torch')})",
             "python": "another Python version", "cpu": "another CPU",
             "isa": f"instructions {ours['isa']} (the last build was for {theirs['isa']}; each has its own)",
             "environment": f"another environment, {sys.prefix} (the last build was for "
                            f"{str(theirs.get('environment', '?')).split(' ')[0]}; each has its own)"}
    return "; ".join(words[name] for name in changed) or "the last build's folder was renamed"


def compile_into(folder: Path) -> None:
    """Runs compiler.py into `folder` in a session that dies with this process; TIMEOUT at most."""
    watch, keep = os.pipe()  # the child watches `watch`; this process holds `keep` until it ends
    job = {"name": module_name(), "sources": [str(source) for source in SOURCES], "folder": str(folder),
           "cflags": cflags(), "ldflags": LDFLAGS, "pipe": watch}
    child = subprocess.Popen([sys.executable, str(COMPILER), json.dumps(job)], pass_fds=(watch,),
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    os.close(watch)
    try:
        try:
            _, errors = child.communicate(timeout=SLOW)
        except subprocess.TimeoutExpired:
            print(f"rnnzoo: still compiling after {SLOW} s (a busy machine?); giving up at {TIMEOUT} s",
                  file=sys.stderr, flush=True)
            try:
                _, errors = child.communicate(timeout=TIMEOUT - SLOW)
            except subprocess.TimeoutExpired:
                raise TimeoutError(f"compiling took over {TIMEOUT} s, stopped") from None
    finally:
        compiler.kill_session(child.pid)  # compilers left by a child that died or ran out of time
        child.wait()
        os.close(keep)
    if child.returncode != 0:
        raise RuntimeError(errors.strip() or f"the compiler process ended with status {child.returncode}")
