"""Which GEMM makes the projection's gradients on this machine: timed once per shape class, kept
with the build.

The projection (projection.py) makes three products: the forward "x W + b", the input gradient
"dy Wᵀ" and the weight gradient "xᵀ dy". Each can run on rnnzoo's micro-kernel ("native"),
oneDNN ("onednn") or torch.mm ("blas": MKL in torch's x86 wheels); the gradients are timed here
(the forward keeps to the native GEMM, projection.py says why). Which is fastest depends on the
CPU and on the shape (docs/performance.md has what won where), so the first call of a shape class
times every engine that can run it on that call's operands and keeps the fastest in
the build folder's `calibration.json`, where every later process finds it: a machine then runs the
same engine for a shape, and gets the same bits, run after run. Timing a class takes a few to a few
hundred milliseconds, once per machine; a line on stderr says so.

    shape class   the product, its depth and width exactly, and its rows rounded up to a power of two
                  (at least 256); not the thread count, which threads.py may change during a run: a
                  shape keeps its engine, timed at the count of its first call
    timing        each engine once to warm up, then the best of three runs, the engines taking turns,
                  on the first CALIBRATION_ROWS rows (a larger product runs at the same rate)

A choice stays until it is forgotten: a shape timed while the machine was busy (a test run, another
job) may keep a slower engine, so `forget()` (what `rnnzoo bench --recalibrate` calls) drops the
loaded build's choices, and every shape is timed again on its next call.

Without the native extension nothing is timed: oneDNN runs where torch has it, else torch.mm.
`configure(gemm=...)` names an engine instead of "auto" (settings.py).
"""

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import build

CALIBRATION_ROWS = 4096
FILE = "calibration.json"

_lock = threading.Lock()
_chosen: dict[str, str] = {}  # shape class -> engine, this process's view of calibration.json
_used: dict[str, str] = {}  # the shape classes this process has run since used(clear=True), with their engines
_state = {"folder": None, "said": False}


def shape_class(product: str, rows: int, depth: int, width: int) -> str:
    bucket = max(256, 1 << max(0, rows - 1).bit_length())
    return f"{product} rows<={bucket} depth={depth} width={width}"


def choose(product: str, rows: int, depth: int, width: int, runners: dict[str, Callable[[int], object]]) -> str:
    """The engine for this product and shape: from calibration.json, or timed now (runners: engine ->
    a function running the product on its first n rows) and written there."""
    if len(runners) == 1:
        return next(iter(runners))
    key = shape_class(product, rows, depth, width)
    with _lock:
        chosen = _known().get(key)
        if chosen not in runners:
            chosen = fastest(runners, min(rows, CALIBRATION_ROWS))
            _chosen[key] = chosen
            _save(key, chosen)
        _used[key] = chosen
    return chosen


def fastest(runners: dict[str, Callable[[int], object]], rows: int) -> str:
    """The engine whose best of three runs (after one to warm up) is the shortest. The engines take
    turns, round by round, so that a slow spell of the machine falls on all of them."""
    for run in runners.values():
        run(rows)
    best = dict.fromkeys(runners, float("inf"))
    for _ in range(3):
        for engine, run in runners.items():
            start = time.perf_counter()
            run(rows)
            best[engine] = min(best[engine], time.perf_counter() - start)
    return min(best, key=best.get)


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
        folder = _folder()
        if folder is not None:
            try:
                (folder / FILE).unlink()
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


def _folder():
    """The loaded extension's build folder (None without one)."""
    module = build.native()
    return Path(module.__file__).parent if module is not None else None


def _known() -> dict[str, str]:
    folder = _folder()
    if folder is None:
        return _chosen
    if _state["folder"] != folder:  # first use, or another build (configure, tests)
        _state["folder"] = folder
        _chosen.clear()
        _chosen.update(_read(folder / FILE))
    return _chosen


def _read(path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {key: value for key, value in data.items() if isinstance(value, str)} if isinstance(data, dict) else {}


def _save(key: str, engine: str) -> None:
    """Adds key to calibration.json, merged with what other processes wrote since, replaced whole."""
    folder = _folder()
    if not _state["said"]:
        _state["said"] = True
        where = f"; kept in {folder / FILE}" if folder is not None else ""
        print(f"rnnzoo: timing the GEMMs on new product shapes (once per machine{where})",
              file=sys.stderr, flush=True)
    if folder is None:
        return
    merged = {**_read(folder / FILE), **_chosen, key: engine}
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".calibration-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(merged, out, indent=1, sort_keys=True)
        os.replace(temporary, folder / FILE)
    except OSError:  # a read-only cache: the choice holds for this process only
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
