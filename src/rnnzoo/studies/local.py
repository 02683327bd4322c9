"""Run trials on this machine: N worker processes, K torch threads each.

Workers are spawned, not forked (torch's thread pools don't survive a fork), and each runs one
trial after another, so torch, the kernels and the data set are loaded once per worker, not once
per trial. A worker killed from outside (SIGKILL, the OOM killer) is replaced and its trial
retried: it resumes from its last checkpoint. A trial that fails with an error of its own (bad
data, NaN loss) is not retried: the same inputs would fail again.
"""

import multiprocessing
import os
import signal
from multiprocessing.connection import wait
from pathlib import Path

from .trials import Trial
from .worker import die_with_parent, run_trial


def cores() -> int:
    """The CPUs this process may run on (a container's or taskset's share, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def layout(trials: int, workers: int | None = None, threads: int | None = None) -> tuple[int, int]:
    """Workers × threads: by default one single-threaded worker per core (small recurrent models
    scale poorly across threads, and independent trials not at all badly; see docs/studies.md)."""
    n = cores()
    if workers is None and threads is None:
        workers, threads = n, 1
    elif workers is None:
        workers = max(1, n // threads)
    elif threads is None:
        threads = max(1, n // workers)
    return max(1, min(workers, trials)), threads


def _serve(connection, options) -> None:
    """A worker: run each trial the driver sends, answer ("ok", "") or ("error", line); None ends."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches a trial through its checkpointer's handler
    while (job := connection.recv()) is not None:
        trial, folder = job
        try:
            run_trial(trial, folder, **options)
            connection.send(("ok", ""))
        except KeyboardInterrupt:  # the study's Ctrl-C: the trial saved a checkpoint, and this worker is done
            connection.send(("error", "interrupted; it resumes with the study's --resume"))
            return
        except Exception as error:  # reported as one line; the trial's folder keeps its checkpoints
            connection.send(("error", f"{type(error).__name__}: {error}"))


class _Worker:
    def __init__(self, context, options):
        self.connection, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, options), name="rnnzoo-study-worker")
        self.process.start()
        theirs.close()
        self.trial = None

    def give(self, trial, folder) -> None:
        self.trial = trial
        self.connection.send((trial, folder))

    def answer(self):
        """The finished trial's ("ok" | "error" | "killed", message), or None while it runs."""
        try:
            if self.connection.poll():
                return self.connection.recv()
        except (EOFError, OSError):
            pass
        if self.process.is_alive():
            return None
        return "killed", f"worker exit code {self.process.exitcode}"


def run_local(trials: list[Trial], out: Path, *, workers: int, threads: int, retries: int = 2, on_done=None,
              **options) -> dict[str, str]:
    """Run `trials` into `out/<trial.name>`; returns {name: error} for those that failed.

    `on_done(trial, error_or_None)` is called as each trial ends. `options` go to `run_trial`.
    """
    context = multiprocessing.get_context("spawn")
    options = dict(options, threads=threads)
    pending, attempts, failures = list(trials), {}, {}
    pool = [_Worker(context, options) for _ in range(min(workers, len(trials)))]
    try:
        while pending or any(w.trial for w in pool):
            for worker in pool:
                if worker.trial is None and pending:
                    trial = pending.pop(0)
                    attempts[trial.name] = attempts.get(trial.name, 0) + 1
                    worker.give(trial, out / trial.name)
            busy = [w for w in pool if w.trial]
            wait([w.connection for w in busy] + [w.process.sentinel for w in busy])
            for index, worker in enumerate(pool):
                answer = worker.trial and worker.answer()
                if not answer:
                    continue
                trial, worker.trial = worker.trial, None
                status, message = answer
                if status == "killed":
                    pool[index] = _Worker(context, options)  # a fresh process for what comes next
                    if attempts[trial.name] <= retries:
                        pending.insert(0, trial)  # resumes from its checkpoint
                        continue
                if status != "ok":
                    failures[trial.name] = message
                if on_done:
                    on_done(trial, failures.get(trial.name))
    finally:  # done, Ctrl-C or an error: a SIGINT also reached the workers, which checkpoint and stop
        for worker in pool:
            try:
                worker.connection.send(None)
            except OSError:
                pass
        for worker in pool:
            worker.process.join(timeout=30)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
    return failures
