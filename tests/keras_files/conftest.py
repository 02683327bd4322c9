"""The committed Keras files (written by make_keras_files.py) and the logits Keras computed."""

from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
MODELS, BAD = HERE / "models", HERE / "bad"
NAMES = ("simple_rnn", "lstm", "gru", "gru_reset_before", "bidirectional", "bidirectional_sequences",
         "bidirectional_pair", "rnn_cells", "bidirectional_cells", "masking")
LENGTHS = (6, 3)
TOL = dict(rtol=0, atol=1e-5)


@pytest.fixture(scope="session")
def expected() -> dict:
    with np.load(HERE / "expected.npz", allow_pickle=False) as arrays:
        return dict(arrays)
