"""Training: Keras' ``fit`` / ``evaluate`` loop and Keras' Adam, on PyTorch."""

from .batches import Dataset, Examples, as_dataset
from .callbacks import Callback, CallbackList, StopTraining
from .checkpoint import CheckpointError, Checkpointer
from .errors import NumericalError, TrainingInterrupted
from .fit import evaluate, fit
from .history import EpochLog, History
from .logger import KerasLogger
from .metrics import BatchLog
from .objectives import ClassAtEveryStep, ClassAtLastStep, Objective, ObjectiveError, ValueAtLastStep
from .optimizers import KerasAdam
from .state import LoopState

__all__ = [
    "BatchLog",
    "ClassAtEveryStep",
    "ClassAtLastStep",
    "Dataset",
    "Examples",
    "Objective",
    "ObjectiveError",
    "ValueAtLastStep",
    "as_dataset",
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
