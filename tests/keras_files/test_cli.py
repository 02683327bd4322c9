"""`rnnzoo import` and `rnnzoo export`: Keras files to run folders and back."""

import json

import numpy as np
import pytest
import torch

import rnnzoo
from rnnzoo.cli.main import main

from .conftest import MODELS, TOL
from .test_load import logits


def test_import_evaluate_export(offline_mnist, expected, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["import", str(MODELS / "mnist_gru.keras"), "--out", str(run)]) == 0
    assert "imported mnist_gru (2 layers)" in capsys.readouterr().out
    experiment = json.loads((run / "experiment.json").read_text())
    keras_names = [layer.name for layer in rnnzoo.load_keras(MODELS / "mnist_gru.keras").layers]
    assert [layer.pop("name") for layer in experiment["model"]["layers"]] == keras_names
    assert experiment["model"] == {"input": [28], "layers": [
        {"type": "GRU", "units": 8, "activation": "tanh", "use_bias": True, "dropout": 0.0,
         "recurrent_dropout": 0.0, "return_sequences": False, "go_backwards": False,
         "zero_output_for_mask": False, "stateful": False, "recurrent_activation": "sigmoid", "reset_after": True},
        {"type": "Dense", "units": 10, "activation": "linear", "use_bias": True}]}

    # rnnzoo evaluate reproduces Keras' own evaluate of the trained model on the same 500 images
    assert main(["evaluate", str(run)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("mnist_gru: test accuracy")
    accuracy, loss = line.split("test accuracy ")[1].split(" on ")[0].split(", test loss ")
    assert float(loss) == pytest.approx(float(expected["mnist_gru/test_loss"]), abs=1e-4)
    assert float(accuracy.split("%")[0]) == pytest.approx(100 * float(expected["mnist_gru/test_accuracy"]), abs=0.01)

    assert main(["import", str(MODELS / "mnist_gru.keras"), "--out", str(run)]) == 2  # never overwrites
    assert "already holds a run" in capsys.readouterr().err
    assert main(["export", str(run), str(tmp_path / "back.keras")]) == 0
    assert main(["export", str(run), str(tmp_path / "back.keras")]) == 2
    original, back = rnnzoo.load_keras(MODELS / "mnist_gru.keras"), rnnzoo.load_keras(tmp_path / "back.keras")
    x = torch.rand(4, 28, 28)
    np.testing.assert_allclose(logits(back, x.numpy()), logits(original, x.numpy()), **TOL)


def test_import_of_every_test_model_makes_a_loadable_run(tmp_path, capsys):
    for path in sorted(MODELS.glob("*.keras")) + sorted(MODELS.glob("*.h5")):
        if path.name.endswith(".weights.h5"):
            continue
        if path.stem == "bidirectional_pair":  # outputs (forward, backward), not logits
            assert main(["import", str(path), "--out", str(tmp_path / "pair")]) == 2
            assert not (tmp_path / "pair").exists()
            continue
        run = tmp_path / path.name
        if rnnzoo.load_keras(path).input_shape[-1] != 28:  # a run folder's model must read its task (MNIST rows)
            assert main(["import", str(path), "--out", str(run)]) == 2 and not run.exists()
            assert "model.input: expected [28]" in capsys.readouterr().err
            continue
        assert main(["import", str(path), "--out", str(run)]) == 0, path
        _, model = rnnzoo.load_run(run)
        original = rnnzoo.load_keras(path)
        for a, b in zip(original.state_dict().items(), model.state_dict().items()):
            assert a[0] == b[0] and torch.equal(a[1], b[1])


def test_export_errors_are_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nothing"), str(tmp_path / "m.keras")]) == 2
    assert main(["export", str(tmp_path), str(tmp_path / "m.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "is not a run folder" in err
    assert not (tmp_path / "m.keras").exists()


def test_a_stateful_model_imports_with_the_batch_size_it_declares(offline_mnist, tmp_path, capsys):
    model = rnnzoo.Sequential([rnnzoo.Input(shape=(28, 28)), rnnzoo.GRU(8, stateful=True), rnnzoo.Dense(10)])
    model(torch.rand(50, 28, 28))  # fixes the batch size, which the Keras file declares
    rnnzoo.save_keras(model, tmp_path / "stateful.keras")
    run = tmp_path / "run"
    assert main(["import", str(tmp_path / "stateful.keras"), "--out", str(run)]) == 0
    experiment = json.loads((run / "experiment.json").read_text())
    assert experiment["training"]["batch_size"] == 50 and experiment["model"]["layers"][0]["stateful"] is True
    assert main(["evaluate", str(run)]) == 0  # 500 test images: 10 full batches of 50
    assert "test accuracy" in capsys.readouterr().out
