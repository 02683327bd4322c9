"""Checkpoints: save a training run at a clean step boundary, and carry on from it bit for bit.

A checkpoint is a folder `ckpt-EEE-SSSSSS` (epoch, step) inside the run's checkpoint folder:

    model.safetensors   the weights
    state.safetensors   optimizer slots, RNG states, the epoch's sample order, running metric sums
    meta.json           epoch, step, history so far, the rest of the optimizer state, caller
                        metadata (e.g. the experiment), and the SHA-256 of both tensor files

Nothing here is pickled: loading a checkpoint runs no code. A folder is written under a temporary
name, every file fsynced, `meta.json` last, then renamed into place; older checkpoints are removed
only after that, so a crash at any moment leaves the previous good checkpoint loadable. On load,
a folder whose files don't match the digests in its meta.json is skipped for an older one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..files import fsync_dir
from .callbacks import Callback
from .errors import TrainingInterrupted
from .history import EpochLog, History
from .metrics import RunningMetrics
from .state import LoopState

FORMAT = 2
TENSOR_FILES = ("model.safetensors", "state.safetensors")


class CheckpointError(RuntimeError):
    """No usable checkpoint, or one that belongs to another run."""


# -- nested state <-> (tensors, JSON) -------------------------------------------------------------

def _split(value, path: str, tensors: dict):
    """Move every tensor of a nested dict/list into `tensors`; return the JSON-able rest."""
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu().contiguous()
        return {"$tensor": path}
    if isinstance(value, dict):  # keys may be ints (optimizer state): keep their type
        return {"$dict": [[k, _split(v, f"{path}.{k}", tensors)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [_split(v, f"{path}.{i}", tensors) for i, v in enumerate(value)]
    return value


def _join(value, tensors: dict):
    if isinstance(value, dict) and "$tensor" in value:
        return tensors[value["$tensor"]]
    if isinstance(value, dict) and "$dict" in value:
        return {k: _join(v, tensors) for k, v in value["$dict"]}
    if isinstance(value, list):
        return [_join(v, tensors) for v in value]
    return value


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- save and load -------------------------------------------------------------------------------

def save(directory: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, loop: LoopState,
         metadata: dict | None = None, keep: int = 2) -> Path:
    """Write a checkpoint of this exact moment; keep the newest `keep` checkpoints."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"ckpt-{loop.epoch:03d}-{loop.step:06d}"
    final, temp = directory / name, directory / f".{name}.tmp"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()

    state_tensors: dict[str, torch.Tensor] = {
        "rng.torch": torch.get_rng_state(),
        "rng.shuffler": loop.shuffler.get_state(),
    }
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            state_tensors[f"rng.cuda.{i}"] = s
    if loop.order is not None:
        state_tensors["loop.order"] = loop.order
    metric_sums = {}
    for name, value in loop.metrics.sums.items():
        if isinstance(value, torch.Tensor):  # exact bits, not a decimal rendering
            state_tensors[f"metrics.{name}"] = value.detach().cpu().reshape(1)
        else:
            metric_sums[name] = value
    optimizer_rest = _split(optimizer.state_dict(), "optimizer", state_tensors)

    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, temp / "model.safetensors")
    save_file(state_tensors, temp / "state.safetensors")
    meta = {
        "format": FORMAT,
        "epoch": loop.epoch,
        "step": loop.step,
        "epoch_seconds": loop.epoch_seconds,
        "metrics": {"steps": loop.metrics.steps, "seen": loop.metrics.seen, "sums": metric_sums},
        "history": [vars(e) for e in loop.history.epochs],
        "optimizer": optimizer_rest,
        "metadata": metadata or {},
        "files": {f: _sha256(temp / f) for f in TENSOR_FILES},
        "saved_at": time.time(),
    }
    for f in TENSOR_FILES:
        with open(temp / f, "rb+") as written:
            os.fsync(written.fileno())
    with open(temp / "meta.json", "w", encoding="utf-8") as out:  # written last: marks the folder complete
        json.dump(meta, out)
        out.flush()
        os.fsync(out.fileno())
    if final.exists():  # the same step saved twice (e.g. epoch end after a step save): replace it
        shutil.rmtree(final)
    os.replace(temp, final)
    fsync_dir(directory)
    for old in checkpoints(directory)[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoints(directory: str | Path) -> list[Path]:
    """Checkpoint folders, newest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.glob("ckpt-*") if p.is_dir()), key=lambda p: p.name, reverse=True)


def read_meta(path: Path) -> dict:
    """A checkpoint's meta.json, after checking its tensor files against their digests."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path}: unreadable meta.json ({error})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {meta.get('format')!r}, this rnnzoo reads {FORMAT}")
    for f in TENSOR_FILES:
        if not (path / f).is_file() or _sha256(path / f) != meta["files"].get(f):
            raise CheckpointError(f"{path}: {f} is missing or damaged (checksum mismatch)")
    return meta


def latest(directory: str | Path, log=print) -> tuple[Path, dict] | None:
    """The newest intact checkpoint and its meta, skipping (and reporting) damaged ones."""
    for path in checkpoints(directory):
        try:
            return path, read_meta(path)
        except CheckpointError as error:
            log(f"skipping checkpoint: {error}")
    return None


def restore(path: Path, meta: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> LoopState:
    """Load weights, optimizer and RNG states into place; return the loop state to resume from."""
    weights = load_file(path / "model.safetensors")
    expected = set(model.state_dict())
    if set(weights) != expected:
        raise CheckpointError(f"{path}: its weights don't fit this model (differing keys: {sorted(set(weights) ^ expected)})")
    model.load_state_dict(weights)
    tensors = load_file(path / "state.safetensors")
    optimizer.load_state_dict(_join(meta["optimizer"], tensors))
    torch.set_rng_state(tensors["rng.torch"])
    if torch.cuda.is_available():
        cuda_states = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
        if cuda_states:
            torch.cuda.set_rng_state_all(cuda_states)
    shuffler = torch.Generator()
    shuffler.set_state(tensors["rng.shuffler"])
    metrics = RunningMetrics()
    metrics.steps, metrics.seen = meta["metrics"]["steps"], meta["metrics"]["seen"]
    metrics.sums = {**meta["metrics"]["sums"],
                    **{key.removeprefix("metrics."): value[0] for key, value in tensors.items() if key.startswith("metrics.")}}
    return LoopState(
        shuffler=shuffler,
        epoch=meta["epoch"],
        order=tensors.get("loop.order"),
        metrics=metrics,
        epoch_seconds=meta["epoch_seconds"],
        history=History([EpochLog(**e) for e in meta["history"]]),
    )


# -- the callback --------------------------------------------------------------------------------

class Checkpointer(Callback):
    """Saves at every epoch end, every `every_steps` batches and every `every_minutes` minutes.

    With `catch_interrupt` (the default), Ctrl-C during fit is deferred to the end of the current
    step, a checkpoint is saved there, and `TrainingInterrupted` is raised saying where it is.
    """

    def __init__(self, directory: str | Path, *, every_steps: int | None = None, every_minutes: float | None = 10.0,
                 metadata: dict | None = None, keep: int = 2, catch_interrupt: bool = True):
        self.directory = Path(directory)
        self.every_steps, self.every_minutes = every_steps, every_minutes
        self.metadata, self.keep, self.catch_interrupt = metadata, keep, catch_interrupt
        self.last_path: Path | None = None
        self._interrupted = False
        self._previous_handler = None

    def save(self) -> Path:
        self.last_path = save(self.directory, self.model, self.optimizer, self.loop, self.metadata, self.keep)
        self._saved_at = time.monotonic()
        return self.last_path

    def on_fit_begin(self, epochs, steps):
        self._saved_at = time.monotonic()
        if self.catch_interrupt and threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum, frame):
        if self._interrupted:  # a second Ctrl-C: the user really wants out now
            raise KeyboardInterrupt
        self._interrupted = True

    def on_batch_end(self, step, logs):
        if self._interrupted:
            path = self.save()
            raise TrainingInterrupted(f"interrupted at epoch {self.loop.epoch + 1}, step {self.loop.step}; state saved in {path}")
        due_steps = self.every_steps and self.loop.step % self.every_steps == 0
        due_time = self.every_minutes and time.monotonic() - self._saved_at >= 60 * self.every_minutes
        if due_steps or due_time:
            self.save()

    def on_epoch_end(self, epoch, log):
        self.save()

    def on_fit_end(self, history):
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None
