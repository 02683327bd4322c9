"""Training: Keras' ``fit`` / ``evaluate`` loop and Keras' Adam, on PyTorch."""

from .callbacks import Callback, CallbackList, StopTraining
from .checkpoint import CheckpointError, Checkpointer
from .errors import NumericalError, TrainingInterrupted
from .fit import evaluate, fit
from .history import EpochLog, History
from .logger import KerasLogger
from .metrics import BatchLog
from .optimizers import KerasAdam
from .state import LoopState

__all__ = [
    "BatchLog",
    "Callback",
    "CallbackList",
    "CheckpointError",
    "Checkpointer",
    "LoopState",
    "NumericalError",
    "TrainingInterrupted",
    "EpochLog",
    "History",
    "KerasAdam",
    "KerasLogger",
    "StopTraining",
    "evaluate",
    "fit",
]
