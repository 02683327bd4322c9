"""save_keras: archives rnnzoo reads back identically, laid out as Keras 3 writes them."""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest
import torch

import rnnzoo
from rnnzoo.keras_files import KerasFileError
from rnnzoo.lab import OutputExistsError

from .conftest import LENGTHS, MODELS, NAMES, TOL
from .test_load import logits, two_batches


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_through_rnnzoo(name, expected, tmp_path):
    model = rnnzoo.load_keras(MODELS / f"{name}.keras")
    rnnzoo.save_keras(model, tmp_path / "back.keras")
    back = rnnzoo.load_keras(tmp_path / "back.keras")
    assert [layer.name for layer in back.layers] == [layer.name for layer in model.layers]
    assert repr(back) == repr(model)
    for steps in LENGTHS:
        np.testing.assert_allclose(logits(back, expected[f"{name}/x{steps}"]), expected[f"{name}/logits{steps}"], **TOL)


def layer_classes(entry: dict) -> list:
    """The class names of a config's layers and cells, nested as they are."""
    config = entry.get("config", {})
    found = [entry["class_name"]]
    found += [layer_classes(inner) for key in ("layers", "cells") for inner in config.get(key, [])]
    found += [layer_classes(config[key]) for key in ("layer", "cell") if key in config]
    return found


def test_a_stateful_model_keeps_its_batch_size_and_state_through_a_round_trip(tmp_path, expected):
    model = rnnzoo.load_keras(MODELS / "stateful.keras")
    rnnzoo.save_keras(model, tmp_path / "back.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "back.keras").read("config.json"))
    assert config["config"]["layers"][0]["config"]["batch_shape"] == [3, None, 4]  # as Keras declares it
    back = rnnzoo.load_keras(tmp_path / "back.keras")
    for got, call in zip(two_batches(back, expected), (1, 2)):
        np.testing.assert_allclose(got, expected[f"stateful/logits{call}"], **TOL)


def test_a_stateful_stack_of_cells_keeps_each_cells_state_size(tmp_path):
    model = rnnzoo.Sequential([rnnzoo.Input(shape=(None, 4)),
                               rnnzoo.RNN([rnnzoo.GRUCell(3), rnnzoo.SimpleRNNCell(2)], stateful=True)])
    x = torch.rand(5, 3, 4)
    with torch.no_grad():
        model(x)
        rnnzoo.save_keras(model, tmp_path / "stack.keras")
        model.reset_state()
        back = rnnzoo.load_keras(tmp_path / "stack.keras")  # zero states of (5, 3) and (5, 2)
        torch.testing.assert_close(back(x), model(x))


@pytest.mark.parametrize("name", ["bidirectional", "rnn_cells", "bidirectional_cells", "masking", "stateful"])
def test_archive_has_keras_layout(name, tmp_path):
    rnnzoo.save_keras(rnnzoo.load_keras(MODELS / f"{name}.keras"), tmp_path / "back.keras")
    archive = zipfile.ZipFile(tmp_path / "back.keras")
    assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    original = zipfile.ZipFile(MODELS / f"{name}.keras")
    config = json.loads(archive.read("config.json"))
    assert config["class_name"] == "Sequential"
    assert layer_classes(config) == layer_classes(json.loads(original.read("config.json")))
    paths = []
    for data in (original.read("model.weights.h5"), archive.read("model.weights.h5")):
        with h5py.File(io.BytesIO(data), "r") as file:
            found = []
            file.visititems(lambda name, node: found.append((name, getattr(node, "shape", None))))
            paths.append(sorted(found))
    assert paths[0] == paths[1]  # every group and dataset Keras writes, with the same shapes


def test_weights_only_round_trip(tmp_path, expected):
    model = rnnzoo.load_keras(MODELS / "fixed_steps.keras")
    rnnzoo.save_keras(model, tmp_path / "w.weights.h5")
    fresh = rnnzoo.Sequential([rnnzoo.Input(shape=(5, 4)), rnnzoo.LSTM(2), rnnzoo.Dense(2)])
    rnnzoo.load_keras(tmp_path / "w.weights.h5", model=fresh)
    np.testing.assert_allclose(logits(fresh, expected["fixed_steps/x5"]), expected["fixed_steps/logits5"], **TOL)


def test_a_model_without_input_takes_its_first_layer_size(tmp_path):
    model = rnnzoo.Sequential([rnnzoo.GRU(3, input_dim=4), rnnzoo.Dense(2)])
    with pytest.raises(KerasFileError, match="layer 'dense' has no weights yet"):
        rnnzoo.save_keras(model, tmp_path / "m.keras")
    model(torch.zeros(1, 2, 4))  # builds the Dense layer
    rnnzoo.save_keras(model, tmp_path / "m.keras")
    assert rnnzoo.load_keras(tmp_path / "m.keras").input_shape == (None, None, 4)


def test_refusals_write_nothing(tmp_path):
    model = rnnzoo.Sequential([rnnzoo.Input(shape=(None, 4)), rnnzoo.SimpleRNN(3, activation=torch.sin)])
    with pytest.raises(KerasFileError, match="activation is a Python function"):
        rnnzoo.save_keras(model, tmp_path / "m.keras")
    cell = rnnzoo.Sequential([rnnzoo.Input(shape=(None, 4)), rnnzoo.RNN(rnnzoo.GRUCell(3, recurrent_activation=torch.sin))])
    with pytest.raises(KerasFileError, match="layer 'rnn': the cell's recurrent_activation is a Python function"):
        rnnzoo.save_keras(cell, tmp_path / "m.keras")

    class Doubling(torch.nn.Module):  # a Keras-style cell of the user's: no Keras counterpart
        state_size = 4

        def forward(self, x, states):
            return 2 * x, [2 * x]

    stateful = rnnzoo.Sequential([rnnzoo.Input(shape=(None, 4)), rnnzoo.Bidirectional(rnnzoo.LSTM(2, stateful=True))])
    with pytest.raises(KerasFileError, match="layer 'forward_lstm' is stateful and has not run yet"):
        rnnzoo.save_keras(stateful, tmp_path / "m.keras")  # Keras needs the batch size its first call sets
    stateful(torch.rand(3, 5, 4))
    stateful.layers[0].forward_layer.reset_state([torch.zeros(2, 2), torch.zeros(2, 2)])  # one layer, by hand
    with pytest.raises(KerasFileError, match=r"different batch sizes \(forward_lstm 2, backward_lstm 3\)"):
        rnnzoo.save_keras(stateful, tmp_path / "m.keras")  # a Keras file declares one
    assert not (tmp_path / "m.keras").exists()
    own = rnnzoo.Sequential([rnnzoo.Input(shape=(None, 4)), rnnzoo.RNN(Doubling())])
    with pytest.raises(KerasFileError, match="layer 'rnn': cell Doubling has no Keras counterpart"):
        rnnzoo.save_keras(own, tmp_path / "m.keras")
    good = rnnzoo.load_keras(MODELS / "lstm.keras")
    with pytest.raises(KerasFileError, match="expected a path ending in .keras"):
        rnnzoo.save_keras(good, tmp_path / "m.pt")
    assert os.listdir(tmp_path) == []
    (tmp_path / "m.keras").write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        rnnzoo.save_keras(good, tmp_path / "m.keras", overwrite=False)
    assert (tmp_path / "m.keras").read_bytes() == b"keep me"


def test_keras_reads_what_rnnzoo_writes(tmp_path, expected):
    """The round trip through Keras itself; skipped where Keras 3 is not installed."""
    keras = pytest.importorskip("keras")
    if not keras.__version__.startswith("3."):
        pytest.skip(f"needs Keras 3, found {keras.__version__}")
    for name in NAMES:
        rnnzoo.save_keras(rnnzoo.load_keras(MODELS / f"{name}.h5"), tmp_path / f"{name}.keras")
        model = keras.saving.load_model(tmp_path / f"{name}.keras")
        for steps in LENGTHS:
            got = np.asarray(model.predict(expected[f"{name}/x{steps}"], verbose=0))
            np.testing.assert_allclose(got, expected[f"{name}/logits{steps}"], **TOL)
    rnnzoo.save_keras(rnnzoo.load_keras(MODELS / "stateful.h5"), tmp_path / "stateful.keras")
    model = keras.saving.load_model(tmp_path / "stateful.keras")  # Keras starts from zero states
    for call in (1, 2):
        got = keras.ops.convert_to_numpy(model(expected[f"stateful/batch{call}"], training=False))
        np.testing.assert_allclose(got, expected[f"stateful/logits{call}"], **TOL)
