"""Keras' ``verbose=2`` log lines, plus a live progress bar on interactive terminals.

Per epoch, exactly as Keras prints them (the header only when epochs > 1)::

    Epoch 3/10
    938/938 - 97s - loss: 0.1571 - accuracy: 0.9552 - 104ms/step

Values are printed ``%.4f``, or ``%.4e`` when they are <= 1e-3 (Keras' rule).
Seconds are the epoch's wall time rounded to an integer. The per-step time
follows Keras' Progbar: it leaves out the first step (warm-up) when there is
more than one, and switches units (s / ms / us) by magnitude.

On a terminal a transient ``rich`` bar shows step/total and the running loss and
metrics while the epoch runs; it vanishes before the epoch's line is printed.
It never appears when the output is not a terminal (CI, pipes, files).
"""

from __future__ import annotations

import time
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .callbacks import Callback
from .history import EpochLog, History
from .metrics import BatchLog

# Reading the running metrics waits for the device; do it at most this often.
_BAR_METRICS_EVERY_S = 0.25


def format_value(value: float) -> str:
    """Keras' Progbar number format."""
    return f"{value:.4f}" if value > 1e-3 else f"{value:.4e}"


def format_step_time(seconds: float) -> str:
    """Keras' ``_format_time``: ``2s/step``, ``104ms/step`` or ``850us/step``."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def keras_line(steps: int, seconds: float, loss: float, metrics: dict[str, float], step_seconds: float) -> str:
    """``938/938 - 97s - loss: 0.1571 - accuracy: 0.9552 - 104ms/step``: the loss, then each metric."""
    values = "".join(f" - {name}: {format_value(value)}" for name, value in {"loss": loss, **metrics}.items())
    return f"{steps}/{steps} - {seconds:.0f}s{values} - {format_step_time(step_seconds)}"


def _metrics_text(logs: BatchLog) -> str:
    return " - ".join(f"{name}: {logs.mean(name).item():.4f}" for name in logs.sums)


class KerasLogger(Callback):
    """Prints Keras' per-epoch lines to ``console`` (a rich Console, a text file, or stdout).

    ``live``: show the progress bar; ``None`` means "only if the console is a terminal".
    """

    def __init__(self, console: Console | TextIO | None = None, live: bool | None = None) -> None:
        if console is None:
            console = Console()  # follows sys.stdout at write time, so captures work
        elif not isinstance(console, Console):
            console = Console(file=console)
        self.console = console
        self.live = console.is_terminal if live is None else live
        self.epochs = 0
        self.steps = 0
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def on_fit_begin(self, epochs: int, steps: int) -> None:
        self.epochs, self.steps = epochs, steps

    def on_epoch_begin(self, epoch: int) -> None:
        if self.epochs > 1:
            self._print(f"Epoch {epoch + 1}/{self.epochs}")
        self._start = time.perf_counter()
        self._after_first_step: float | None = None
        self._bar_read_at = float("-inf")
        if self.live:
            self._start_bar()

    def on_batch_end(self, step: int, logs: BatchLog) -> None:
        now = time.perf_counter()
        if step == 0:
            self._after_first_step = now
        if self._progress is not None:
            fields = {}
            if now - self._bar_read_at >= _BAR_METRICS_EVERY_S or step + 1 == self.steps:
                fields["metrics"] = _metrics_text(logs)
                self._bar_read_at = now
            self._progress.update(self._task, completed=step + 1, **fields)

    def on_epoch_end(self, epoch: int, log: EpochLog) -> None:
        self._stop_bar()
        now = time.perf_counter()
        if log.steps > 1 and self._after_first_step is not None:
            step_seconds = (now - self._after_first_step) / (log.steps - 1)
        else:
            step_seconds = (now - self._start) / max(log.steps, 1)
        self._print(keras_line(log.steps, log.seconds, log.loss, log.metrics, step_seconds))

    def on_fit_end(self, history: History) -> None:
        self._stop_bar()  # after an error or StopTraining mid-epoch

    def _print(self, line: str) -> None:
        # ``out`` writes the text as is: no markup, highlighting or wrapping.
        self.console.out(line, highlight=False)

    def _start_bar(self) -> None:
        self._progress = Progress(
            TextColumn("{task.completed}/{task.total}"),
            BarColumn(),
            TextColumn("{task.fields[metrics]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._task = self._progress.add_task("", total=self.steps, metrics="")
        self._progress.start()

    def _stop_bar(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
