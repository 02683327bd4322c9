"""Files rnnzoo must refuse: one line naming the problem, exit 2 from the CLI, nothing written.

The corpus in bad/ was written by make_keras_files.py (Keras' own Lambda, custom-layer and
functional models, and archives altered after Keras wrote them); the cases below it are made
here from the committed good files.
"""

import contextlib
import io
import json
import re
import zipfile

import h5py
import pytest

import rnnzoo
from rnnzoo.cli.main import main
from rnnzoo.keras_files import KerasFileError

from .conftest import BAD, MODELS

CORPUS = {
    "lambda.keras": "layer type 'Lambda' can't be converted; rnnzoo supports InputLayer, SimpleRNN, LSTM, GRU",
    "lambda.h5": "layer type 'Lambda' can't be converted",
    "custom_layer.keras": "custom object 'custom>Scale' can't be converted",
    "custom_activation.keras": "activation 'a custom function' can't be converted",
    "functional.keras": "the model is a 'Functional'; rnnzoo reads Sequential models only",
    "path_traversal.keras": "unsafe entry name '../../evil.txt'",
    "oversized_entry.keras": "entry config.json declares 20,976,",
    "truncated.keras": "not a readable .keras archive (zip)",
    "truncated.h5": "not a readable HDF5 file",
    "other_architecture.keras": "weights of another architecture: the file has layers/gru/cell/vars/0",
    "not_a_model.keras": "neither a .keras archive (zip) nor an HDF5 file",
}


def one_line(error: Exception) -> str:
    message = str(error)
    assert "\n" not in message and message
    return message


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_is_refused_with_one_line(name):
    with pytest.raises(KerasFileError) as caught:
        rnnzoo.load_keras(BAD / name)
    message = one_line(caught.value)
    assert message.startswith(str(BAD / name)) and CORPUS[name] in message


def test_weights_of_another_architecture_are_refused():
    model = rnnzoo.load_keras(MODELS / "lstm.keras")
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(KerasFileError, match="weights of another architecture"):
        rnnzoo.load_keras(BAD / "other_architecture.weights.h5", model=model)
    other = rnnzoo.Sequential([rnnzoo.Input(shape=(None, 4)), rnnzoo.LSTM(3), rnnzoo.Dense(2)])
    with pytest.raises(KerasFileError, match=r"has shape \(5, 2\), expected \(3, 2\)|another architecture"):
        rnnzoo.load_keras(MODELS / "fixed_steps.weights.h5", model=other)
    assert all((a == b).all() for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_cli_import_exits_2_and_writes_nothing(name, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["import", str(BAD / name), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnzoo: error: ") and "Traceback" not in err
    assert not out.exists()


# -- made here from the good files ----------------------------------------------------------------

def altered(tmp_path, source="lstm.keras", replace=None, add=(), config=None):
    """A copy of a committed archive with entries replaced, added, or its config edited."""
    target = tmp_path / "altered.keras"
    replace = dict(replace or {})
    with zipfile.ZipFile(MODELS / source) as old:
        if config is not None:
            data = json.loads(old.read("config.json"))
            config(data)
            replace["config.json"] = json.dumps(data).encode()
        with zipfile.ZipFile(target, "w") as new:
            for info in old.infolist():
                new.writestr(info.filename, replace.pop(info.filename, None) or old.read(info))
            for name, data in [*replace.items(), *add]:
                new.writestr(name, data)
    return target


def first_layer(edit):
    return lambda data: edit(data["config"]["layers"][1]["config"])


@pytest.mark.parametrize("edit, message", [
    (first_layer(lambda c: c.update(unroll=True)), "unroll=True can't be converted"),
    (first_layer(lambda c: c.update(time_major=True)), "time_major=True can't be converted"),
    (first_layer(lambda c: c.update(return_state=True)), "return_state=True inside a Sequential"),
    (first_layer(lambda c: c.update(activation="gelu_custom")), "activation 'gelu_custom'"),
    (first_layer(lambda c: c.update(units="many")), "units must be a number"),
    (lambda d: d["config"]["layers"].insert(1, {"class_name": "Conv1D", "config": {"name": "c"}}), "layer type 'Conv1D'"),
    (lambda d: d["config"]["layers"].insert(1, {"class_name": "TimeDistributed", "config": {"name": "t", "layer": {
        "class_name": "LSTM", "config": {"name": "l", "units": 2}}}}), "TimeDistributed around LSTM can't be converted"),
    (lambda d: d["config"]["layers"][1].update(module="evil.module"), "custom object 'LSTM'"),
    (lambda d: d["config"]["layers"][0]["config"].update(batch_shape=[None, 28]), "input shape must be (batch, time, features)"),
    (lambda d: d["config"]["layers"][0]["config"].update(batch_shape=[0, None, 4]), "input shape must be (batch, time, features)"),
])
def test_config_refusals(tmp_path, edit, message):
    with pytest.raises(KerasFileError, match=re.escape(message)) as caught:
        rnnzoo.load_keras(altered(tmp_path, config=edit))
    one_line(caught.value)


def rnn_cell(edit):  # the rnn_cells model's first RNN: RNN(LSTMCell(3))
    return lambda data: edit(data["config"]["layers"][1]["config"]["cell"])


@pytest.mark.parametrize("edit, message", [
    (rnn_cell(lambda c: c.update(class_name="PeepholeLSTMCell")),
     "cell type 'PeepholeLSTMCell' can't be converted; rnnzoo supports SimpleRNNCell, LSTMCell, GRUCell"),
    (rnn_cell(lambda c: c.update(module="evil.module")), "custom object 'LSTMCell'"),
    (rnn_cell(lambda c: c["config"].update(recurrent_activation="swish_custom")), "recurrent_activation 'swish_custom'"),
    (rnn_cell(lambda c: c.update(class_name="StackedRNNCells", config={"cells": []})),
     "a StackedRNNCells without a list of cells"),
    (lambda d: d["config"]["layers"][1]["config"].update(unroll=True), "unroll=True can't be converted"),
])
def test_cell_refusals(tmp_path, edit, message):
    with pytest.raises(KerasFileError, match=re.escape(message)) as caught:
        rnnzoo.load_keras(altered(tmp_path, source="rnn_cells.keras", config=edit))
    one_line(caught.value)


def test_a_backward_layer_that_is_not_the_mirror_is_refused(tmp_path):
    def edit(data):
        data["config"]["layers"][1]["config"]["backward_layer"]["config"]["units"] = 5
    with pytest.raises(KerasFileError, match="backward_layer that is not the forward layer reversed"):
        rnnzoo.load_keras(altered(tmp_path, "bidirectional.keras", config=edit))


@pytest.mark.parametrize("add, message", [
    ([("/etc/passwd", b"x")], "unsafe entry name '/etc/passwd'"),
    ([("a\\..\\b", b"x")], "unsafe entry name"),
    ([("run.py", b"print(1)")], "unexpected entry 'run.py'"),
    ([("config.json", b"{}")], "appears twice"),
])
def test_entry_refusals(tmp_path, add, message):
    with pytest.warns(UserWarning) if add[0][0] == "config.json" else contextlib.nullcontext():
        path = altered(tmp_path, add=add)
    with pytest.raises(KerasFileError, match=re.escape(message)):
        rnnzoo.load_keras(path)


def test_weights_entry_bounded_by_the_model_size(tmp_path):
    path = altered(tmp_path, replace={"model.weights.h5": b"\0" * (20 * 2**20)})  # deflates to ~20 kB
    with pytest.raises(KerasFileError, match="entry model.weights.h5 declares 20,971,520 bytes, more than"):
        rnnzoo.load_keras(path)


def test_invalid_json_and_missing_weights(tmp_path):
    with pytest.raises(KerasFileError, match="config.json is not valid JSON"):
        rnnzoo.load_keras(altered(tmp_path, replace={"config.json": b"{nope"}))
    target = tmp_path / "no_weights.keras"
    with zipfile.ZipFile(MODELS / "lstm.keras") as old, zipfile.ZipFile(target, "w") as new:
        new.writestr("config.json", old.read("config.json"))
    with pytest.raises(KerasFileError, match="model.weights.h5 is missing"):
        rnnzoo.load_keras(target)


@pytest.mark.parametrize("link", ["external", "soft"])
def test_hdf5_links_are_not_followed(tmp_path, link):
    """A dataset replaced by a link (another file, another path) is refused, not read through."""
    with zipfile.ZipFile(MODELS / "lstm.keras") as archive:
        data = io.BytesIO(archive.read("model.weights.h5"))
    with h5py.File(data, "a") as file:
        del file["layers/lstm/cell/vars/0"]
        file["layers/lstm/cell/vars/0"] = (h5py.ExternalLink("/etc/secret.h5", "/x") if link == "external"
                                           else h5py.SoftLink("/layers/lstm_1/cell/vars/0"))
    with pytest.raises(KerasFileError, match="Link; only plain HDF5 entries are read"):
        rnnzoo.load_keras(altered(tmp_path, replace={"model.weights.h5": data.getvalue()}))


def test_keras2_hard_sigmoid_is_refused(tmp_path):
    """Keras 2 defined hard_sigmoid differently; lstm.h5 uses it, so labelled Keras 2 it is refused."""
    copy = tmp_path / "keras2.h5"
    copy.write_bytes((MODELS / "lstm.h5").read_bytes())
    with h5py.File(copy, "a") as file:
        file.attrs["keras_version"] = "2.15.0"
    with pytest.raises(KerasFileError, match="written by Keras 2.15.0, whose hard_sigmoid differs"):
        rnnzoo.load_keras(copy)
    assert rnnzoo.load_keras(MODELS / "lstm.h5")  # written by Keras 3: the same hard_sigmoid
