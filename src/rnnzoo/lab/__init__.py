"""The lab: train experiments, reproduce the notebook's comparison, write reports."""

from .errors import OutputExistsError
from .reproduce import reproduce
from .run import RunResult, load_run, train

__all__ = ["OutputExistsError", "RunResult", "load_run", "reproduce", "train"]
