"""Recurrent layers with Keras' semantics and weight layout, as torch.nn.Modules."""

from .bidirectional import Bidirectional
from .cells import StackedRNNCells
from .core import Activation, Dense, Dropout, Input
from .gru import GRU, GRUCell
from .layer import Layer
from .lstm import LSTM, LSTMCell
from .masking import Masking
from .min_gru import MinGRU
from .min_lstm import MinLSTM
from .rnn import RNN
from .sequential import Sequential
from .simple_rnn import SimpleRNN, SimpleRNNCell
from .time_distributed import TimeDistributed
from .transformer import Transformer

__all__ = [
    "Activation", "Bidirectional", "Dense", "Dropout", "GRU", "GRUCell", "Input", "LSTM", "LSTMCell", "Layer",
    "Masking", "MinGRU", "MinLSTM", "RNN", "Sequential", "SimpleRNN", "SimpleRNNCell", "StackedRNNCells", "TimeDistributed",
    "Transformer",
]
