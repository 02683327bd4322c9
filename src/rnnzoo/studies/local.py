"""Run trials on this machine: N worker processes at a time, K torch threads each.

Each trial gets a fresh process (spawned, not forked: torch's thread pools don't survive a fork),
so a trial's peak memory is its own and a crash takes down only that trial. A worker killed from
outside (SIGKILL, the OOM killer) is retried: its trial resumes from its last checkpoint. A trial
that fails with an error of its own (bad data, NaN loss) is not: the same inputs would fail again.
"""

import multiprocessing
import os
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


def _child(trial, folder, options, connection) -> None:
    die_with_parent()
    try:
        run_trial(trial, folder, **options)
        connection.send(("ok", ""))
    except BaseException as error:  # reported to the driver as one line; the trial's folder keeps its checkpoints
        connection.send(("error", f"{type(error).__name__}: {error}"))
        raise SystemExit(1)


def _report(receive, exitcode) -> tuple[str, str]:
    """What the worker said before it ended, or ("killed", ...) if it ended without a word."""
    try:
        return receive.recv() if receive.poll() else ("killed", f"worker exit code {exitcode}")
    except EOFError:
        return "killed", f"worker exit code {exitcode}"
    finally:
        receive.close()


def run_local(trials: list[Trial], out: Path, *, workers: int, threads: int, retries: int = 2, on_done=None,
              **options) -> dict[str, str]:
    """Run `trials` (those unfinished) into `out/<trial.name>`; returns {name: error} for failures.

    `on_done(trial, error_or_None)` is called as each trial ends. `options` go to `run_trial`.
    """
    context = multiprocessing.get_context("spawn")
    pending, running, attempts, failures = list(trials), {}, {}, {}
    options = dict(options, threads=threads)
    try:
        while pending or running:
            while pending and len(running) < workers:
                trial = pending.pop(0)
                receive, send = context.Pipe(duplex=False)
                process = context.Process(target=_child, args=(trial, out / trial.name, options, send),
                                          name=f"rnnzoo-trial-{trial.name}")
                process.start()
                send.close()
                attempts[trial.name] = attempts.get(trial.name, 0) + 1
                running[process.sentinel] = (trial, process, receive)
            for sentinel in wait(list(running)):
                trial, process, receive = running.pop(sentinel)
                process.join()
                status, message = _report(receive, process.exitcode)
                if status == "ok":
                    error = None
                elif status == "killed" and attempts[trial.name] <= retries:
                    pending.insert(0, trial)  # resumes from its checkpoint in a new worker
                    continue
                else:
                    error = failures[trial.name] = message
                if on_done:
                    on_done(trial, error)
    finally:  # Ctrl-C or an error here: the workers got the same SIGINT and save a checkpoint; wait for them
        for trial, process, _ in running.values():
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
    return failures
