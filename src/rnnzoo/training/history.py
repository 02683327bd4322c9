"""What ``fit`` returns: one record per epoch, like Keras' ``History``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EpochLog:
    """One finished epoch.

    ``epoch`` is 0-based, as in Keras callbacks (the log line shows ``epoch + 1``).
    ``loss`` and each of ``metrics`` (e.g. ``{"accuracy": 0.98}``) are the epoch's
    sample-weighted running means (see ``metrics.RunningMetrics``); ``seconds`` is
    wall time; ``steps`` batches.
    """

    epoch: int
    loss: float
    metrics: dict[str, float]
    seconds: float
    steps: int


@dataclass
class History:
    """The epochs of one ``fit`` call, in order."""

    epochs: list[EpochLog] = field(default_factory=list)

    @property
    def loss(self) -> list[float]:
        return [log.loss for log in self.epochs]

    def metric(self, name: str) -> list[float]:
        """Per-epoch values of "loss" or of one metric, e.g. ``history.metric("accuracy")``."""
        return [log.loss if name == "loss" else log.metrics[name] for log in self.epochs]

    @property
    def seconds(self) -> list[float]:
        return [log.seconds for log in self.epochs]

    def as_keras(self) -> dict[str, list[float]]:
        """The shape of Keras' ``history.history``: {"loss": [...], "accuracy": [...], ...}."""
        names = self.epochs[0].metrics if self.epochs else {}
        return {"loss": self.loss, **{name: self.metric(name) for name in names}}

    def __len__(self) -> int:
        return len(self.epochs)
