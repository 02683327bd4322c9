"""rnnzoo: Keras-exact recurrent layers on PyTorch, and a lab that reproduces RNN comparisons."""

from .layers import (
    GRU, LSTM, RNN, Bidirectional, Dense, Dropout, Input, Layer, Sequential, SimpleRNN,
)

__version__ = "0.1.0"

__all__ = [
    "GRU", "LSTM", "RNN", "Bidirectional", "Dense", "Dropout", "Input", "Layer", "Sequential",
    "SimpleRNN", "__version__",
]
