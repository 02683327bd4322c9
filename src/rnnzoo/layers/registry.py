"""Layer types by the names configs use: the one place a new layer type is registered."""

from .bidirectional import Bidirectional
from .core import Activation, Dense, Dropout
from .gru import GRU
from .lstm import LSTM
from .simple_rnn import SimpleRNN

LAYER_TYPES = {cls.__name__: cls for cls in (SimpleRNN, LSTM, GRU, Bidirectional, Dense, Dropout, Activation)}
RECURRENT_TYPES = ("SimpleRNN", "LSTM", "GRU")
