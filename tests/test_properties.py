"""Property-based: every config, IDX header and command line is accepted or refused with a
message — never an uncaught exception."""

import gzip
import importlib
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnzoo.cli.main import main
from rnnzoo.config import ConfigError, Experiment, parse
from rnnzoo.data import DataError
from rnnzoo.data.idx import parse_idx

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# -- configs -------------------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["tanh", "relu", "rleu", "LSTM", "GRU", "mnist", "adam", "concat", "", "x"]))
LAYER_KEYS = ["type", "units", "activation", "recurrent_activation", "return_sequences", "dropout", "rate",
              "recurrent_dropout", "merge_mode", "layer", "use_bias", "reset_after", "name", "unitz", "go_backwards"]
layer = st.dictionaries(st.sampled_from(LAYER_KEYS), scalars, max_size=5).map(
    lambda d: d if "type" in d else {**d, "type": "LSTM"})
layer = st.one_of(layer, st.fixed_dictionaries({"type": st.sampled_from(["SimpleRNN", "LSTM", "GRU", "Dense"]),
                                                "units": st.integers(-2, 8)}),
                  st.fixed_dictionaries({"type": st.just("Bidirectional"), "layer": layer}), scalars)
section = st.dictionaries(st.sampled_from(["batch_size", "epochs", "seed", "learning_rate", "decay", "epsilon",
                                           "beta_1", "clipnorm", "dataset", "train_limit", "bogus"]), scalars, max_size=4)
configs = st.fixed_dictionaries(
    {"name": st.one_of(st.just("Model"), scalars)},
    optional={"model": st.one_of(st.fixed_dictionaries({"layers": st.lists(layer, max_size=4)},
                                                       optional={"input": st.lists(scalars, max_size=3)}), scalars),
              "data": section, "optimizer": section, "training": section, "extra": scalars})


@SETTINGS
@given(configs)
def test_any_config_is_accepted_or_refused_with_a_message(data):
    try:
        assert isinstance(parse(data, "fuzz.toml"), Experiment)
    except ConfigError as error:
        assert str(error).startswith("fuzz.toml: ") and "\n" not in str(error)


@SETTINGS
@given(st.text(max_size=200))
def test_any_toml_text_is_accepted_or_refused(tmp_path, text):
    path = tmp_path / "fuzz.toml"
    path.write_text(text)
    try:
        importlib.import_module("rnnzoo.config").load(path)
    except ConfigError as error:
        assert str(error).startswith(str(path))


# -- IDX headers -------------------------------------------------------------------------------------
@st.composite
def idx_files(draw):
    dims = draw(st.lists(st.integers(0, 6), min_size=0, max_size=4))
    header = bytes([0, 0, draw(st.sampled_from([8, 8, 9, 13])), draw(st.integers(0, 5))])
    header = draw(st.sampled_from([header, draw(st.binary(min_size=4, max_size=4))]))
    body = b"".join(struct.pack(">I", d) for d in dims)
    payload = draw(st.binary(max_size=300))
    raw = (header + body + payload)[: draw(st.integers(0, 400))]
    return gzip.compress(raw) if draw(st.booleans()) else raw


@SETTINGS
@given(idx_files())
def test_any_idx_bytes_decode_or_raise_data_error(data):
    try:
        array = parse_idx(data, source="fuzz.idx")
        assert array.dtype == np.uint8
    except DataError as error:
        assert "fuzz.idx" in str(error)


# -- command lines -------------------------------------------------------------------------------
WORDS = ["reproduce", "train", "resume", "evaluate", "summary", "data", "fetch", "--quick", "--out", "--epochs",
         "--seed", "--overwrite", "--resume", "--models", "--dataset", "--force", "--cache-dir", "--debug",
         "lstm", "gru", "nope", "all", "mnist", "-3", "0", "x.toml", "--help", "simple_rnn,nope", "--version"]


@pytest.fixture
def no_training(monkeypatch, tmp_path):
    """The CLI's calls into the lab return at once: these tests are about argument handling."""
    monkeypatch.chdir(tmp_path)
    for module, name in [("rnnzoo.cli.reproduce", "reproduce"), ("rnnzoo.cli.train", "train"),
                         ("rnnzoo.cli.resume", "train"), ("rnnzoo.cli.resume", "reproduce")]:
        monkeypatch.setattr(importlib.import_module(module), name, lambda *a, **k: (_ for _ in ()).throw(
            FileNotFoundError("stub: no training in this test")))
    monkeypatch.setattr("rnnzoo.data.fetch", lambda *a, **k: (_ for _ in ()).throw(DataError("stub: offline")))


@SETTINGS
@given(st.lists(st.sampled_from(WORDS), max_size=6))
def test_any_command_line_exits_cleanly(no_training, capsys, argv):
    if "--debug" in argv:
        argv = [a for a in argv if a != "--debug"]  # --debug re-raises on purpose
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse: --help/--version (0) or a usage error (2)
        code = exit.code
    assert code in (0, 1, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err
