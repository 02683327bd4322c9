"""load_keras on real files written by Keras 3: the logits Keras computed, the names it gave."""

import io
import json
import zipfile

import h5py
import numpy as np
import pytest
import torch

import rnnzoo
from rnnzoo.keras_files import KerasFileError

from .conftest import LENGTHS, MODELS, NAMES, TOL


def logits(model, x: np.ndarray) -> np.ndarray:
    """The model's output as Keras' predict gives it (a merge_mode=None pair stacked, as numpy does)."""
    with torch.no_grad():
        output = model(torch.from_numpy(x))
    return torch.stack(output).numpy() if isinstance(output, tuple) else output.numpy()


@pytest.mark.parametrize("suffix", ["keras", "h5"])
@pytest.mark.parametrize("name", NAMES)
def test_logits_equal_keras_at_two_lengths(name, suffix, expected):
    model = rnnzoo.load_keras(MODELS / f"{name}.{suffix}")
    assert not model.training  # as Keras' predict: dropout off
    for steps in LENGTHS:
        np.testing.assert_allclose(logits(model, expected[f"{name}/x{steps}"]), expected[f"{name}/logits{steps}"], **TOL)


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_names_and_settings_are_kept(suffix):
    model = rnnzoo.load_keras(MODELS / f"simple_rnn.{suffix}")
    assert model.name == "simple_rnn"
    assert [layer.name for layer in model.layers] == ["hidden1", "hidden2", "output_layer"]
    first, second = model.layers[:2]
    assert first.return_sequences and not first.go_backwards and first.cell.activation is torch.relu
    assert second.go_backwards and not second.return_sequences
    lstm = rnnzoo.load_keras(MODELS / f"lstm.{suffix}")
    assert [type(layer).__name__ for layer in lstm.layers] == ["LSTM", "Dropout", "LSTM", "Dropout", "Dense"]
    assert lstm.layers[1].rate == pytest.approx(0.2)
    bidirectional = rnnzoo.load_keras(MODELS / f"bidirectional.{suffix}")
    assert [layer.merge_mode for layer in bidirectional.layers[:4]] == ["concat", "sum", "mul", "ave"]
    assert rnnzoo.load_keras(MODELS / f"bidirectional_pair.{suffix}").layers[0].merge_mode is None
    wrapped = json.loads(zipfile.ZipFile(MODELS / "bidirectional.keras").read("config.json"))["config"]["layers"][1]
    forward_name = wrapped["config"]["layer"]["config"]["name"]  # Keras' own, e.g. forward_lstm_2
    assert bidirectional.layers[0].forward_layer.name == forward_name
    assert bidirectional.layers[0].backward_layer.name == forward_name.replace("forward_", "backward_", 1)
    assert not bidirectional.layers[3].forward_layer.cell.reset_after


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_rnn_cells_keep_their_settings(suffix):
    model = rnnzoo.load_keras(MODELS / f"rnn_cells.{suffix}")
    assert [type(layer).__name__ for layer in model.layers] == ["RNN", "RNN", "RNN", "Dense"]
    single, stacked, pair = (layer.cell for layer in model.layers[:3])
    assert isinstance(single, rnnzoo.LSTMCell) and single.units == 3
    assert model.layers[1].go_backwards and model.layers[1].return_sequences and not model.layers[2].return_sequences
    gru, simple = stacked.inner.cells  # RNN runs a stack through a KerasCell
    assert isinstance(gru, rnnzoo.GRUCell) and not gru.reset_after and gru.units == 3
    assert isinstance(simple, rnnzoo.SimpleRNNCell) and simple.activation is torch.relu
    assert [cell.recurrent_activation.__name__ for cell in pair.inner.cells] == ["sigmoid", "hard_sigmoid"]
    with zipfile.ZipFile(MODELS / "rnn_cells.keras") as archive, \
            h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
        stored = []
        weights.visititems(lambda name, node: stored.append(node.size) if isinstance(node, h5py.Dataset) else None)
    assert model.count_params() == sum(stored)


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_the_mask_is_kept_and_matters(suffix, expected):
    model = rnnzoo.load_keras(MODELS / f"masking.{suffix}")
    kinds = ["Masking", "LSTM", "Bidirectional", "TimeDistributed", "SimpleRNN", "GRU", "Dense"]
    assert [type(layer).__name__ for layer in model.layers] == kinds
    assert model.layers[0].mask_value == 0.5 and model.layers[4].zero_output_for_mask
    assert isinstance(model.layers[3].layer, rnnzoo.Dense) and model.layers[3].layer.units == 3
    unmasked = rnnzoo.Sequential(list(model.layers)[1:])  # the same layers, blind to the padding
    x = expected["masking/x6"]
    assert np.abs(logits(unmasked, x) - expected["masking/logits6"]).max() > 1e-3


def test_the_config_agrees_with_the_file():
    config = json.loads(zipfile.ZipFile(MODELS / "gru.keras").read("config.json"))
    keras_layers = [entry["config"] for entry in config["config"]["layers"][1:]]
    model = rnnzoo.load_keras(MODELS / "gru.keras")
    assert [layer.name for layer in model.layers] == [c["name"] for c in keras_layers]
    assert model.layers[2].cell.bias is None  # use_bias=False: no bias, as in the file
    assert model.count_params() == 3 * 3 * (4 + 3 + 2) + 3 * 2 * (3 + 2) + 2 * 2 + 2


def test_fixed_steps_are_kept(expected):
    model = rnnzoo.load_keras(MODELS / "fixed_steps.keras")
    assert model.input_shape == (None, 5, 4)
    np.testing.assert_allclose(logits(model, expected["fixed_steps/x5"]), expected["fixed_steps/logits5"], **TOL)
    with pytest.raises(ValueError, match="expects input of shape"):
        model(torch.zeros(1, 3, 4))


def two_batches(model, expected) -> list:
    """The stateful model's logits on its two batches, one call after the other."""
    return [logits(model, expected[f"stateful/batch{call}"]) for call in (1, 2)]


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_stateful_layers_carry_their_state_as_in_keras(suffix, expected):
    model = rnnzoo.load_keras(MODELS / f"stateful.{suffix}")
    assert [layer.stateful for layer in model.modules() if isinstance(layer, rnnzoo.RNN)] == [True] * 4
    for got, call in zip(two_batches(model, expected), (1, 2)):  # the second starts where the first ended
        np.testing.assert_allclose(got, expected[f"stateful/logits{call}"], **TOL)
    model.reset_state()  # back to zeros: the second batch alone gives other logits
    assert not np.allclose(logits(model, expected["stateful/batch2"]), expected["stateful/logits2"], atol=1e-3)
    with pytest.raises(ValueError, match="stateful with batch size 3"):  # the batch size the file declares
        model(torch.zeros(4, 3, 4))


def test_weights_file_fills_a_given_model(expected):
    model = rnnzoo.load_keras(MODELS / "fixed_steps.keras")
    fresh = rnnzoo.Sequential([rnnzoo.Input(shape=(5, 4)), rnnzoo.LSTM(2), rnnzoo.Dense(2)])
    assert not np.allclose(logits(fresh.eval(), expected["fixed_steps/x5"]), expected["fixed_steps/logits5"], atol=1e-3)
    same = rnnzoo.load_keras(MODELS / "fixed_steps.weights.h5", model=fresh)
    assert same is fresh
    np.testing.assert_allclose(logits(fresh, expected["fixed_steps/x5"]), expected["fixed_steps/logits5"], **TOL)
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert torch.equal(a, b)


def test_weights_file_alone_needs_a_model():
    with pytest.raises(KerasFileError, match="holds weights only"):
        rnnzoo.load_keras(MODELS / "fixed_steps.weights.h5")


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        rnnzoo.load_keras(tmp_path / "nothing.keras")
