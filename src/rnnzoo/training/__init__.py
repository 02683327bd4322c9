"""Training: Keras' ``fit`` / ``evaluate`` loop and Keras' Adam, on PyTorch."""

from .callbacks import Callback, CallbackList, StopTraining
from .fit import evaluate, fit
from .history import EpochLog, History
from .logger import KerasLogger
from .metrics import BatchLog
from .optimizers import KerasAdam

__all__ = [
    "BatchLog",
    "Callback",
    "CallbackList",
    "EpochLog",
    "History",
    "KerasAdam",
    "KerasLogger",
    "StopTraining",
    "evaluate",
    "fit",
]
