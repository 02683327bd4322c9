"""rnnzoo: Keras-exact recurrent layers on PyTorch, and a lab that reproduces RNN comparisons."""

__version__ = "0.1.0"  # first: submodules read it while the package is still importing

from .layers import (
    GRU, LSTM, RNN, Activation, Bidirectional, Dense, Dropout, Input, Layer, MinGRU, MinLSTM, Sequential, SimpleRNN,
    Transformer,
)

from . import data, tasks
from .config import ConfigError, Experiment
from .config import load as load_config
from .lab import load_run, reproduce, train
from .keras_files import KerasFileError, load_keras, save_keras
from .presets import PRESETS, load_preset, preset
from .training import KerasAdam, evaluate, fit


__all__ = [
    "GRU", "LSTM", "RNN", "Activation", "Bidirectional", "Dense", "Dropout", "Input", "Layer", "MinGRU", "MinLSTM",
    "Sequential", "SimpleRNN", "Transformer", "__version__", "data", "tasks", "ConfigError", "Experiment", "load_config",
    "load_run",
    "reproduce", "train", "PRESETS", "load_preset", "preset", "KerasAdam", "evaluate", "fit",
    "KerasFileError", "load_keras", "save_keras",
]
