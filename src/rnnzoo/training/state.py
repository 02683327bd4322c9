"""Where `fit` is: everything it needs to carry on, bit for bit, after a restart.

Between epochs `order` is None; inside one, `order` is the epoch's sample order and `metrics`
holds the running sums of the batches already done, so a run stopped after batch k resumes at
batch k + 1 with the same order, the same running means and (with the RNG states that
`checkpoint.py` saves beside it) the same dropout masks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .history import EpochLog, History
from .metrics import RunningMetrics


@dataclass
class LoopState:
    shuffler: torch.Generator  # draws each epoch's order; its own stream, independent of the model
    epoch: int = 0  # the epoch under way (0-based)
    order: torch.Tensor | None = None  # this epoch's sample order; None between epochs
    metrics: RunningMetrics = field(default_factory=RunningMetrics)
    epoch_seconds: float = 0.0  # wall time spent in this epoch so far, across restarts
    history: History = field(default_factory=History)

    @classmethod
    def start(cls, seed: int) -> LoopState:
        torch.manual_seed(seed)  # dropout and any other global-RNG use in the model
        return cls(shuffler=torch.Generator().manual_seed(seed))

    @property
    def step(self) -> int:
        """Batches finished in the epoch under way."""
        return self.metrics.steps

    def begin_epoch(self, order: torch.Tensor) -> None:
        self.order, self.metrics, self.epoch_seconds = order, RunningMetrics(), 0.0

    def finish_epoch(self, log: EpochLog) -> None:
        self.history.epochs.append(log)
        self.epoch, self.order, self.metrics, self.epoch_seconds = self.epoch + 1, None, RunningMetrics(), 0.0
