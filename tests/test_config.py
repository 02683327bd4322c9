"""Experiments as data: TOML parsed into frozen dataclasses; every error names its key."""

import dataclasses

import pytest

import rnnzoo
from rnnzoo.config import ConfigError, load, parse

GOOD = """
name = "Tiny"
[model]
input = [28]
layers = [
  { type = "GRU", units = 8, activation = "relu", return_sequences = true },
  { type = "Dropout", rate = 0.3 },
  { type = "Bidirectional", merge_mode = "sum", layer = { type = "LSTM", units = 4 } },
  { type = "Dense", units = 10 },
]
[optimizer]
learning_rate = 0.01
decay = 1e-5
[training]
batch_size = 32
epochs = 2
seed = 7
"""


def write(tmp_path, text):
    path = tmp_path / "experiment.toml"
    path.write_text(text)
    return path


def test_good_config_builds_the_model(tmp_path):
    experiment = load(write(tmp_path, GOOD))
    assert experiment.training.batch_size == 32 and experiment.optimizer.decay == 1e-5
    assert experiment.optimizer.epsilon == 1e-7  # Keras' default
    model = experiment.build_model()
    assert [type(l).__name__ for l in model.layers] == ["GRU", "Dropout", "Bidirectional", "Dense"]
    assert model.layers[2].merge_mode == "sum"
    with pytest.raises(dataclasses.FrozenInstanceError):
        experiment.training.epochs = 3


def test_round_trip_through_dict(tmp_path):
    experiment = load(write(tmp_path, GOOD))
    assert parse(experiment.to_dict()) == experiment


@pytest.mark.parametrize("change, message", [
    (("[training]\nbatch_size = 32", "[training]\nbatch_sise = 32"), r"training\.batch_sise: unknown key \(did you mean 'batch_size'\?\)"),
    (("units = 8", "units = 0"), r"model\.layers\[0\]: units must be a positive integer, got 0"),
    (("units = 8", "units = \"8\""), r"model\.layers\[0\]: units must be a positive integer, got '8'"),
    (("rate = 0.3", "rate = 1.5"), r"model\.layers\[1\]: Dropout rate must be in \[0, 1\), got 1.5"),
    (("activation = \"relu\"", "activation = \"rleu\""), r"model\.layers\[0\]: unknown activation 'rleu'"),
    (("type = \"GRU\"", "type = \"GRUU\""), r"model\.layers\[0\]\.type: unknown layer type 'GRUU' \(did you mean 'GRU'\?\)"),
    (("units = 8, activation", "units = 8, unitz = 3, activation"), r"model\.layers\[0\]\.unitz: unknown key \(did you mean 'units'\?\)"),
    (("epochs = 2", "epochs = 0"), r"training\.epochs: expected a finite positive number, got 0"),
    (("learning_rate = 0.01", "learning_rate = nan"), r"optimizer\.learning_rate: expected a finite positive number, got nan"),
    (("epochs = 2", "epochs = 2.5"), r"training\.epochs: expected int, got float 2.5"),
    (("learning_rate = 0.01", "learning_rate = -1.0"), r"optimizer\.learning_rate: expected a finite positive number"),
    (("name = \"Tiny\"", "name = 3"), r"name: expected an identifier-like string"),
    (("input = [28]", "input = [0]"), r"model\.input: expected \[features\]"),
    (("merge_mode = \"sum\"", "merge_mode = \"max\""), r"model\.layers\[2\]: merge_mode must be one of"),
])
def test_errors_name_the_key(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(ConfigError, match=message) as error:
        load(write(tmp_path, GOOD.replace(old, new, 1)))
    assert str(error.value).startswith(str(tmp_path / "experiment.toml"))


def test_toml_syntax_error_has_line_number(tmp_path):
    with pytest.raises(ConfigError, match=r"TOML syntax error: .*line 3"):
        load(write(tmp_path, 'name = "x"\n[model]\nlayers = [ { type = \n'))


def test_missing_file_and_missing_layers(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match=r"model\.layers: missing"):
        load(write(tmp_path, 'name = "x"\n'))
    with pytest.raises(ConfigError, match=r"data\.dataset: unknown data set 'mnsit' \(did you mean 'mnist'\?\)"):
        load(write(tmp_path, GOOD + '[data]\ndataset = "mnsit"\n'))


@pytest.mark.parametrize("name, params", [("simple_rnn", 206_858), ("lstm", 819_722), ("gru", 369_162), ("bilstm", 2_163_722)])
def test_presets_build_the_notebook_models(name, params):
    model = rnnzoo.preset(name)
    assert model.count_params() == params
    import torch

    assert model.eval()(torch.rand(3, 28, 28)).shape == (3, 10)


def test_presets_match_the_notebook_settings():
    simple, lstm, gru = (rnnzoo.load_preset(n) for n in ("simple_rnn", "lstm", "gru"))
    assert simple.optimizer.decay == 0.0 and lstm.optimizer.decay == gru.optimizer.decay == 1e-5
    for experiment in (simple, lstm, gru):
        assert (experiment.training.batch_size, experiment.training.epochs) == (64, 10)
    bilstm = rnnzoo.preset("bilstm")
    assert [type(l).__name__ for l in bilstm.layers] == ["Bidirectional", "Dropout", "Bidirectional", "Dropout", "Dense"]
    with pytest.raises(ConfigError, match="unknown preset"):
        rnnzoo.load_preset("transformer")
