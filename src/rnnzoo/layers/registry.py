"""Layer types by the names configs use: the one place a new layer type is registered."""

from .bidirectional import Bidirectional
from .core import Activation, Dense, Dropout
from .gru import GRU
from .lstm import LSTM
from .masking import Masking
from .min_gru import MinGRU
from .min_lstm import MinLSTM
from .simple_rnn import SimpleRNN
from .time_distributed import TimeDistributed
from .transformer import Transformer

LAYER_TYPES = {cls.__name__: cls for cls in (
    SimpleRNN, LSTM, GRU, MinGRU, MinLSTM, Transformer, Bidirectional, Dense, Dropout, Activation, Masking,
    TimeDistributed)}
RECURRENT_TYPES = ("SimpleRNN", "LSTM", "GRU")
