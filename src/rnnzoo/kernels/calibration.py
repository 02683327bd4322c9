"""Which GEMM makes the big gradient products on this machine, and how the threads share a large
recurrent kernel's loop: timed once per shape class, kept with the build.

The projection (projection.py) makes three products: the forward "x W + b", the input gradient
"dy Wᵀ" and the weight gradient "xᵀ dy"; the recurrence's backward (fused.py) one more, the
recurrent kernel's gradient "recurrent_grad", Σ h_{t-1}ᵀ dZ_t. Each can run on rnnzoo's
micro-kernel ("native"), oneDNN ("onednn", not the two "xᵀ dy" products) or torch.mm ("blas": MKL
in torch's x86 wheels); the gradients are timed here (the forward keeps to the native GEMM,
projection.py says why). Which is fastest depends on the CPU and on the shape (docs/performance.md
has what won where), and so does how the threads split the loop where the kernels' rule is least
sure (fused.py, "recurrent_split": rows or units, the same bits either way). So the first call of
a shape class times every engine that can run it on that call's operands and keeps the fastest in
the build folder's `calibration.json`, where every later process finds it: a machine then runs the
same engine for a shape, and gets the same bits, run after run (a run resumed from a checkpoint
continues bit for bit). Timing a class takes a few milliseconds to about a second, once per machine;
a line on stderr says so. Processes starting at once (a study's workers) take turns on a lock file
beside it, so the first to time a class decides it for all of them.
$RNNZOO_CALIBRATION_DIR, where set, keeps the choices there instead, as `<build folder name>.json`
(for a read-only cache; the tests keep their timings out of the user's file with it).

    shape class   the product, its depth and width exactly, and its rows rounded up to a power of two
                  (at least 256, or the caller's `fewest_rows`: the split's rows are a batch, whose
                  rows a thread gets decide it, so at least 1); not the thread count, which
                  threads.py may change during a run: a shape keeps its engine, timed at the count of
                  its first call (but the split, whose product names the count it was timed at)
    timing        each engine once to warm up, then its median run of at least MIN_ROUNDS, more until
                  the runs add up to BUDGET_S, the engines taking turns, on the first CALIBRATION_ROWS
                  rows (a larger product runs at the same rate)
    the choice    the fastest, but rnnzoo's GEMM ("native") unless another is faster by more than
                  NATIVE_MARGIN: on it a layer's gradient products run inside its backward's native
                  call (fused.py), which saves what timing one product alone cannot see, the return
                  to Python between them (0.1–0.2 ms a layer on a Zen 3, docs/kernel-notes.md)

A choice stays until it is forgotten: a shape timed while the machine was busy (a test run, another
job) may keep a slower engine, so `forget()` (what `rnnzoo bench --recalibrate` calls) drops the
loaded build's choices, and every shape is timed again on its next call.

Without the native extension nothing is timed: oneDNN runs where torch has it, else torch.mm.
`configure(gemm=...)` names an engine instead of "auto" (settings.py).
"""

import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import build

CALIBRATION_ROWS = 4096
MIN_ROUNDS, MAX_ROUNDS, BUDGET_S = 5, 100, 0.1  # how long fastest() times the engines
NATIVE_MARGIN = 0.03  # how much faster than the native GEMM another engine must run to be chosen
FILE = "calibration.json"

_lock = threading.Lock()
_chosen: dict[str, str] = {}  # shape class -> engine, this process's view of calibration.json
# (product, rows, depth, width, the engines, the build's id, $RNNZOO_CALIBRATION_DIR) -> (shape class, engine):
# the answers choose() has given, found again without the lock or the file's path (a layer's backward
# asks three times per call)
_answers: dict[tuple, tuple[str, str]] = {}
_used: dict[str, str] = {}  # the shape classes this process has run since used(clear=True), with their engines
_state = {"path": None, "said": False}


def shape_class(product: str, rows: int, depth: int, width: int, fewest_rows: int = 256) -> str:
    bucket = max(fewest_rows, 1 << max(0, rows - 1).bit_length())
    return f"{product} rows<={bucket} depth={depth} width={width}"


def choose(product: str, rows: int, depth: int, width: int, runners: dict[str, Callable[[int], object]],
           fewest_rows: int = 256) -> str:
    """The engine for this product and shape: from calibration.json, or timed now (runners: engine ->
    a function running the product on its first n rows) and written there. fewest_rows: the smallest
    bucket of rows in the shape class (shape_class)."""
    if (chosen := known(product, rows, depth, width, tuple(runners), fewest_rows)) is not None:
        return chosen
    key = shape_class(product, rows, depth, width, fewest_rows)
    with _lock:
        chosen = _known().get(key)
        if chosen not in runners:
            path = _path()
            with _machine_lock(path):
                chosen = _read(path).get(key) if path is not None else None  # another process's choice
                if chosen not in runners:
                    chosen = fastest(runners, min(rows, CALIBRATION_ROWS))
                    _save(path, key, chosen)
            _chosen[key] = chosen
        _used[key] = chosen
        _answers[_question(product, rows, depth, width, tuple(runners))] = (key, chosen)
    return chosen


def known(product: str, rows: int, depth: int, width: int, engines: tuple[str, ...],
          fewest_rows: int = 256) -> str | None:
    """choose's answer where it has one without timing (the only engine, or one chosen already, on file
    or in this process); None where the shape class has yet to be timed."""
    if len(engines) == 1:
        return engines[0]
    question = _question(product, rows, depth, width, engines)
    if (answer := _answers.get(question)) is None:
        key = shape_class(product, rows, depth, width, fewest_rows)
        with _lock:
            chosen = _known().get(key)
        if chosen not in engines:
            return None
        answer = _answers[question] = (key, chosen)
    key, chosen = answer
    _used[key] = chosen
    return chosen


def _question(product: str, rows: int, depth: int, width: int, engines: tuple[str, ...]) -> tuple:
    return product, rows, depth, width, engines, id(build.native()), os.environ.get("RNNZOO_CALIBRATION_DIR")


def fastest(runners: dict[str, Callable[[int], object]], rows: int) -> str:
    """The engine whose median run (after one to warm up) is the shortest, but "native" where none runs
    more than NATIVE_MARGIN faster than it. The engines take turns, round by round, so that a slow spell
    of the machine falls on all of them: at least MIN_ROUNDS rounds, and more while the timed runs add
    up to less than BUDGET_S (up to MAX_ROUNDS). The median, not the best run: where two engines are
    close, each one's best is a lucky run, and a few lucky runs decided a shape one way or the other
    from one process to the next (docs/kernel-notes.md, "Calibration's noise")."""
    for run in runners.values():
        run(rows)
    times: dict[str, list[float]] = {engine: [] for engine in runners}
    spent, rounds = 0.0, 0
    while rounds < MIN_ROUNDS or (spent < BUDGET_S and rounds < MAX_ROUNDS):
        for engine, run in runners.items():
            start = time.perf_counter()
            run(rows)
            took = time.perf_counter() - start
            times[engine].append(took)
            spent += took
        rounds += 1
    typical = {engine: statistics.median(runs) for engine, runs in times.items()}
    winner = min(typical, key=typical.get)
    if "native" in typical and typical["native"] <= typical[winner] * (1 + NATIVE_MARGIN):
        return "native"
    return winner


def chosen() -> dict[str, str]:
    """Every shape class timed on this machine and build so far, with its engine."""
    with _lock:
        return dict(_known())


def forget() -> int:
    """Drops every choice of the loaded build (its calibration.json and this process's view of it),
    so that each shape class is timed again on its next call. Returns how many were dropped."""
    with _lock:
        dropped = len(_known())
        _chosen.clear()
        _used.clear()
        _answers.clear()
        path = _path()
        if path is not None:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
    return dropped


def used(clear: bool = False) -> dict[str, str]:
    """The shape classes run since the last clear, with their engines (what `rnnzoo bench` prints)."""
    with _lock:
        seen = dict(_used)
        if clear:
            _used.clear()
    return seen


def _path() -> Path | None:
    """Where the loaded extension's choices are kept (None without one): the build folder's
    calibration.json, or $RNNZOO_CALIBRATION_DIR/<build folder name>.json."""
    module = build.native()
    if module is None:
        return None
    folder = Path(module.__file__).parent
    if elsewhere := os.environ.get("RNNZOO_CALIBRATION_DIR"):
        return Path(elsewhere) / f"{folder.name}.json"
    return folder / FILE


@contextlib.contextmanager
def _machine_lock(path: Path | None):
    """Held while a class is timed and written, across processes (a lock file beside the choices;
    none without a build, or where it can't be made: a read-only cache, or off POSIX)."""
    try:
        if path is None:
            raise FileNotFoundError
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path.with_name(f".{path.name}.lock"), "a")
    except OSError:
        yield
        return
    with handle:
        try:
            import fcntl
            fcntl.flock(handle, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass
        yield  # closing the file releases the lock


def _known() -> dict[str, str]:
    path = _path()
    if path is None:
        return _chosen
    if _state["path"] != path:  # first use, or another build (configure, tests)
        _state["path"] = path
        _chosen.clear()
        _chosen.update(_read(path))
    return _chosen


def _read(path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, str)} if isinstance(data, dict) else {}


def _save(path: Path | None, key: str, engine: str) -> None:
    """Adds key to the kept choices: what is on file (other processes' choices, since this one read
    it) and the new one, the file replaced whole."""
    if not _state["said"]:
        _state["said"] = True
        where = f"; kept in {path}" if path is not None else ""
        print(f"rnnzoo: timing the GEMMs on new product shapes (once per machine{where})",
              file=sys.stderr, flush=True)
    if path is None:
        return
    merged = {**_read(path), key: engine}
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".calibration-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(merged, out, indent=1, sort_keys=True)
        os.replace(temporary, path)
    except OSError:  # a read-only cache: the choice holds for this process only
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
