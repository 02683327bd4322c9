"""The hooks ``fit`` and ``evaluate`` call, so new behaviour plugs in without editing the loop.

A callback subclasses ``Callback`` and overrides the hooks it needs. Epoch and
step indices are 0-based, as in Keras. ``BatchLog`` tensors live on the device:
reading them (``.item()``) waits for the device, so do it sparingly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .history import EpochLog, History
    from .metrics import BatchLog


class StopTraining(Exception):
    """Raise from a hook to end ``fit`` early; the epochs already finished are kept."""


class Callback:
    """No-op base class; every hook is optional.

    ``fit`` binds ``model``, ``optimizer`` and ``loop`` (its ``LoopState``) as attributes
    before the first hook, as Keras sets ``callback.model``.
    """

    def bind(self, **context) -> None:
        for name, value in context.items():
            setattr(self, name, value)

    def on_fit_begin(self, epochs: int, steps: int) -> None:
        """Before the first epoch; ``steps`` batches per epoch."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Before the epoch's first batch."""

    def on_batch_end(self, step: int, logs: BatchLog) -> None:
        """After the optimizer step of batch ``step``."""

    def on_epoch_end(self, epoch: int, log: EpochLog) -> None:
        """After the epoch's last batch, with its finished record."""

    def on_fit_end(self, history: History) -> None:
        """Always runs, even after an error or ``StopTraining``, so resources get released."""


class CallbackList(Callback):
    """Fans each hook out to several callbacks, in order."""

    def __init__(self, callbacks: Iterable[Callback]) -> None:
        self.callbacks = list(callbacks)

    def bind(self, **context):
        for cb in self.callbacks:
            cb.bind(**context)

    def on_fit_begin(self, epochs, steps):
        for cb in self.callbacks:
            cb.on_fit_begin(epochs, steps)

    def on_epoch_begin(self, epoch):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch)

    def on_batch_end(self, step, logs):
        for cb in self.callbacks:
            cb.on_batch_end(step, logs)

    def on_epoch_end(self, epoch, log):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, log)

    def on_fit_end(self, history):
        for cb in self.callbacks:
            cb.on_fit_end(history)
