"""Keras' ``model.fit`` and ``model.evaluate`` for any sequence model ``nn.Module``.

The model maps a float batch (B, T, F) to its outputs, called as ``model(x)``, or
``model(x, lengths=lengths)`` when per-sample lengths are given (the lengths batch is
on ``device`` like the data). What the outputs must be, the loss that training
minimises and the metrics it reports come from an ``Objective`` (``objectives.py``).
The default is Keras' ``SparseCategoricalCrossentropy(from_logits=True)`` on logits
(B, C), the batch mean of::

    loss_i = -log softmax(logits_i)[y_i]          (F.cross_entropy)

with ``accuracy = mean(argmax(logits_i) == y_i)``; the loss and every metric are
aggregated over an epoch as sample-weighted running means (``metrics.py``).

The data are arrays ``x`` (N, T, F) and ``y`` (N, ...), or any ``Examples`` (e.g. a
generated task's training set, which makes each batch from its indices) with ``y=None``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

import torch
from rich.console import Console
from torch import nn

from .batches import Examples, as_dataset, batches, epoch_order, steps
from .callbacks import Callback, CallbackList, StopTraining
from .errors import NumericalError
from .history import EpochLog, History
from .logger import KerasLogger
from .metrics import RunningMetrics
from .objectives import ClassAtLastStep, Objective
from .state import LoopState
from .stateful import check_stateful, reset_states
from ..layers.constraints import apply_constraints
from ..layers.regularizers import regularization_loss


def fit(
    model: nn.Module,
    x,
    y=None,
    *,
    optimizer: torch.optim.Optimizer,
    objective: Objective | None = None,
    batch_size: int = 64,
    epochs: int = 10,
    seed: int = 0,
    shuffle: bool = True,
    lengths=None,
    device: str | torch.device = "cpu",
    callbacks: Iterable[Callback] = (),
    verbose: int = 2,
    console: Console | TextIO | None = None,
    resume: LoopState | None = None,
    check_finite: bool = True,
) -> History:
    """Train ``model`` in place, as Keras' ``fit(x, y, batch_size, epochs, shuffle, verbose)``.

    ``objective`` sets the loss and metrics (default ``ClassAtLastStep()``: labels, logits).

    Every epoch reshuffles the whole set (a generator seeded with ``seed``), runs
    ceil(N / batch_size) optimizer steps, the last batch partial, in train mode.
    ``torch.manual_seed(seed)`` is called first so dropout masks repeat too: the
    same seed gives the same weights and history. ``verbose``: 0 silent, 1 or 2
    Keras' per-epoch lines on ``console`` (default stdout), with a live bar on a
    terminal. The model is moved to ``device``; the data stays where it is and
    travels one batch at a time.

    Keras' extras: the model's regularization losses (``kernel_regularizer``, ...,
    ``activity_regularizer``) are added to the loss, its constraints applied after every
    ``optimizer.step()``; a stateful model (``stateful=True``) reads its batches in order, all
    full, with its kept state reset at each epoch's start and end (``stateful.py``).

    ``resume``: a ``LoopState`` restored from a checkpoint (``checkpoint.restore``)
    continues that run exactly where it stopped, mid-epoch included. ``check_finite``
    stops with ``NumericalError`` on a NaN/Inf loss or gradient, before the update.
    Callbacks see ``model``, ``optimizer`` and ``loop`` (this state) as attributes.
    """
    _check_count("batch_size", batch_size)
    _check_count("epochs", epochs)
    device = torch.device(device)
    objective = objective or ClassAtLastStep()
    data = _examples(x, y, lengths, objective)
    loop = resume or LoopState.start(seed)
    hooks = CallbackList([*_loggers(verbose, console), *callbacks])
    hooks.bind(model=model, optimizer=optimizer, loop=loop)
    model.to(device)

    shuffle = check_stateful(model, len(data), batch_size, shuffle)

    hooks.on_fit_begin(epochs, steps(data, batch_size))
    with _mode(model, training=True):
        try:
            while loop.epoch < epochs:
                if loop.order is None:
                    loop.begin_epoch(epoch_order(len(data), shuffle, loop.shuffler))
                if loop.step == 0:  # an epoch starts from zero state (resumed mid-epoch: the checkpoint's state)
                    reset_states(model)
                hooks.on_epoch_begin(loop.epoch)
                started = time.perf_counter() - loop.epoch_seconds
                for xb, yb, lb in batches(data, loop.order[loop.step * batch_size :], batch_size, device):
                    outputs = _forward(model, xb, lb)
                    loss = _compute_loss(objective, model, outputs, yb)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if check_finite:
                        _check_finite(loss, model, loop)
                    optimizer.step()
                    apply_constraints(model)
                    log = loop.metrics.update(objective, outputs, yb, loss)
                    loop.epoch_seconds = time.perf_counter() - started
                    hooks.on_batch_end(log.step, log)
                reset_states(model)
                mean_loss, metrics = loop.metrics.result()  # the loop's one read of device values
                epoch_log = EpochLog(loop.epoch, mean_loss, metrics, time.perf_counter() - started, loop.step)
                loop.finish_epoch(epoch_log)
                hooks.on_epoch_end(epoch_log.epoch, epoch_log)
        except StopTraining:
            pass
        finally:
            hooks.on_fit_end(loop.history)
    return loop.history


def _check_finite(loss: torch.Tensor, model: nn.Module, loop: LoopState) -> None:
    """Stop before an update that would poison the weights (one device sync per step)."""
    if not torch.isfinite(loss):
        raise NumericalError(f"the loss is {loss.item()}", loop.epoch, loop.step)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    # A finite sum proves every element finite (a NaN or an Inf would make it NaN or Inf) and
    # costs a tenth of an elementwise test; only a non-finite sum, which finite values can also
    # reach by overflowing, is confirmed element by element.
    if grads and not torch.isfinite(torch.stack([g.sum() for g in grads])).all():
        if not torch.stack([torch.isfinite(g).all() for g in grads]).all():
            raise NumericalError("a gradient is not finite", loop.epoch, loop.step)


def evaluate(
    model: nn.Module,
    x,
    y=None,
    *,
    objective: Objective | None = None,
    batch_size: int = 64,
    lengths=None,
    device: str | torch.device = "cpu",
    verbose: int = 2,
    console: Console | TextIO | None = None,
) -> dict[str, float]:
    """Keras' ``evaluate``: ``{"loss": ..., "accuracy": ...}`` (the objective's metrics) over the data, in order.
    The loss includes the model's regularization losses, as in ``fit`` and in Keras.

    Eval mode (dropout off) under ``torch.inference_mode``; the model's previous
    train/eval mode is restored afterwards. With ``verbose`` 1 or 2 prints one line,
    e.g. ``157/157 - 6s - loss: 0.1514 - accuracy: 0.9568 - 38ms/step``.
    """
    _check_count("batch_size", batch_size)
    device = torch.device(device)
    objective = objective or ClassAtLastStep()
    data = _examples(x, y, lengths, objective)
    check_stateful(model, len(data), batch_size, False)  # all batches full, before any is run
    hooks = CallbackList(_loggers(verbose, console))
    model.to(device)
    metrics = RunningMetrics()

    hooks.on_fit_begin(1, steps(data, batch_size))  # one pass, so no "Epoch" header
    hooks.on_epoch_begin(0)
    start = time.perf_counter()
    with _mode(model, training=False), torch.inference_mode():
        try:
            reset_states(model)  # a pass over the data starts and ends at zero states, as in fit
            for xb, yb, lb in batches(data, torch.arange(len(data)), batch_size, device):
                outputs = _forward(model, xb, lb)
                loss = _compute_loss(objective, model, outputs, yb)
                log = metrics.update(objective, outputs, yb, loss)
                hooks.on_batch_end(log.step, log)
            reset_states(model)
            loss, means = metrics.result()
            hooks.on_epoch_end(0, EpochLog(0, loss, means, time.perf_counter() - start, metrics.steps))
        finally:
            hooks.on_fit_end(History())
    return {"loss": loss, **means}


def _examples(x, y, lengths, objective: Objective) -> Examples:
    """Arrays validated into a ``Dataset``, or ``Examples`` taken as they are."""
    if isinstance(x, Examples):
        if y is not None or lengths is not None:
            raise ValueError("y, lengths: expected None when x is an Examples object, which carries its own")
        if len(x) == 0:
            raise ValueError("x: expected at least one example, got 0")
        return x
    if y is None:
        raise ValueError("y: expected the targets of x, got None")
    return as_dataset(x, y, lengths, objective)


def _forward(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    return model(x) if lengths is None else model(x, lengths=lengths)


def _compute_loss(objective, model: nn.Module, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Keras' compute_loss, for training and evaluation alike: the objective's loss plus the model's
    regularization losses."""
    return objective.loss(outputs, targets) + regularization_loss(model)


def _loggers(verbose: int, console: Console | TextIO | None) -> list[Callback]:
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose: expected 0, 1 or 2, got {verbose!r}")
    return [KerasLogger(console)] if verbose else []


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name}: expected an int >= 1, got {value!r}")


@contextmanager
def _mode(model: nn.Module, training: bool) -> Iterator[None]:
    """Put the model in train/eval mode for the block, then restore its previous mode."""
    was_training = model.training
    model.train(training)
    try:
        yield
    finally:
        model.train(was_training)
