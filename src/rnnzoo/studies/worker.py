"""One trial, start to finish, in whatever process runs it: the code local workers and Ray share.

A finished trial (its result.json exists) is left alone; an interrupted one resumes from its own
checkpoints through `rnnzoo.train(resume=True)`, bit for bit as if never stopped; anything else
starts afresh. Besides the run folder's files, `trial.json` records how the trial ran: threads, attempts,
wall time, and the peak memory of the process so far (a worker runs several trials, so this is
an upper bound for the trial's own).
"""

import json
import resource
import sys
import time
from pathlib import Path

import torch

from ..config import parse
from ..training import checkpoint
from .trials import Trial


def die_with_parent() -> None:
    """Linux: have the kernel kill this process when its parent dies (a SIGKILLed driver leaves no
    orphan trial writing on into a folder the resumed study is about to use)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


_loaded = {}  # data sets this process has read, kept for its next trials (a worker runs many)


def _dataset(name: str, cache_dir, datasets: dict | None):
    from .. import data

    if datasets and name in datasets:
        return datasets[name]
    if name not in data.DATASETS:  # a generated task (adding, copy): nothing to read
        return None
    if name not in _loaded:
        _loaded[name] = data.load(name, cache_dir=cache_dir)
    return _loaded[name]


def is_finished(folder: Path) -> bool:
    return (folder / "result.json").is_file()


def run_trial(trial: Trial, folder, *, threads: int, cache_dir=None, datasets: dict | None = None,
              tensorboard: bool = False, verbose: int = 0) -> dict:
    """Train `trial` into `folder` with `threads` torch threads; returns its result.json as a dict."""
    from ..lab.run import train, write_json

    folder = Path(folder)
    if is_finished(folder):
        return json.loads((folder / "result.json").read_text())
    torch.set_num_threads(threads)
    experiment = parse(trial.experiment, f"trial {trial.name}")
    resume = checkpoint.latest(folder / "checkpoints", log=lambda _: None) is not None
    info_path = folder / "trial.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {"attempts": 0}
    info.update(trial={"model": trial.model, "task": trial.task, "point": [list(p) for p in trial.point],
                       "seed": trial.seed}, threads=threads, attempts=info["attempts"] + 1)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(info_path, info)
    callbacks = [_tensorboard(folder / "tensorboard")] if tensorboard else []
    started = time.perf_counter()
    train(experiment, run_dir=folder, resume=resume, overwrite=not resume, cache_dir=cache_dir,
          dataset=_dataset(experiment.data.dataset, cache_dir, datasets), verbose=verbose, callbacks=callbacks,
          checkpoint_every_minutes=1.0)
    info.update(wall_seconds=time.perf_counter() - started,
                peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, resumed=resume)
    write_json(info_path, info)
    return json.loads((folder / "result.json").read_text())


def _tensorboard(folder: Path):
    from .tensorboard import TensorBoard

    return TensorBoard(folder)
