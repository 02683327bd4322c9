"""Layer types by the names configs use: the one place a new layer type is registered."""

from .bidirectional import Bidirectional
from .core import Activation, Dense, Dropout
from .gru import GRU, GRUCell
from .lstm import LSTM, LSTMCell
from .masking import Masking
from .min_gru import MinGRU
from .min_lstm import MinLSTM
from .rnn import RNN
from .simple_rnn import SimpleRNN, SimpleRNNCell
from .time_distributed import TimeDistributed
from .transformer import Transformer

LAYER_TYPES = {cls.__name__: cls for cls in (
    SimpleRNN, LSTM, GRU, RNN, MinGRU, MinLSTM, Transformer, Bidirectional, Dense, Dropout, Activation, Masking,
    TimeDistributed)}
CELL_TYPES = {cls.__name__: cls for cls in (SimpleRNNCell, LSTMCell, GRUCell)}  # an RNN's `cell`
RECURRENT_TYPES = ("SimpleRNN", "LSTM", "GRU")
