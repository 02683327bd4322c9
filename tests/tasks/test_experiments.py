"""Tasks through the lab: TOML settings, refusals, training, saved runs, evaluate, resume."""

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from rnnzoo.cli.main import main
from rnnzoo.config import ConfigError, parse
from rnnzoo.lab import load_run, train
from rnnzoo.lab import run as run_module
from rnnzoo.training import Callback


def experiment(dataset="adding", length=10, layers=None, input_=None, epochs=3, **data):
    layers = layers or [{"type": "LSTM", "units": 16}, {"type": "Dense", "units": 1}]
    return parse({
        "name": "Tiny",
        "model": {"input": input_ or [2], "layers": layers},
        "data": {"dataset": dataset, "length": length, "train_limit": 1280, "test_limit": 256, **data},
        "optimizer": {"learning_rate": 0.01},
        "training": {"batch_size": 32, "epochs": epochs, "seed": 1},
    })


@pytest.mark.parametrize("changes, message", [
    ({"input_": [28]}, "model.input: expected [2] or [10, 2] for adding, T = 10 (10 steps of 2 features), got [28]"),
    ({"input_": [11, 2]}, "model.input: expected [2] or [10, 2]"),
    ({"layers": [{"type": "LSTM", "units": 4}, {"type": "Dense", "units": 10}]},
     "model.layers: adding, T = 10 expected one number per sequence, (batch, 1); the model gives (1, 10)"),
    ({"dataset": "copy", "input_": [10], "layers": [{"type": "LSTM", "units": 4}, {"type": "Dense", "units": 10}]},
     "model.layers: copy, T = 10 expected a score per class at every step, (batch, 2, 10)"),
    ({"length": 0}, "data.length: expected a positive integer, got 0"),
    ({"view": "pixels"}, "data.view: only mnist and fashion_mnist have views"),
])
def test_bad_task_configurations_are_refused_with_one_line(changes, message):
    with pytest.raises(ConfigError) as error:
        experiment(**changes)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_cli_refuses_a_bad_task_file_with_exit_2_and_no_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "Bad"\n[model]\ninput = [2]\nlayers = [{ type = "LSTM", units = 4 },'
                    ' { type = "Dense", units = 1 }]\n[data]\ndataset = "adding"\nlength = -5\n')
    run = subprocess.run([sys.executable, "-m", "rnnzoo.cli.main", "train", str(path)], capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [f"rnnzoo: error: {path}: data.length: expected a positive integer, got -5"]


def test_an_lstm_learns_adding_far_below_the_baseline_and_the_run_records_the_task(tmp_path):
    result = train(experiment(epochs=6), run_dir=tmp_path / "run", verbose=0)
    assert result.test["loss"] < result.task["baseline"]["loss"] / 3
    assert set(result.test) == {"loss"} and result.score == result.test["loss"]
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["task"]["name"] == "adding" and saved["task"]["primary"] == "loss"
    assert saved["task"]["higher_is_better"] is False and saved["test"] == result.test
    assert saved["epochs"][0]["metrics"] == {}
    _, model = load_run(tmp_path / "run")  # and `rnnzoo evaluate` gives the same test loss
    assert main(["evaluate", str(tmp_path / "run")]) == 0


def test_copy_trains_with_a_class_at_every_step():
    layers = [{"type": "GRU", "units": 32, "return_sequences": True}, {"type": "Dense", "units": 10}]
    result = train(experiment("copy", length=5, layers=layers, input_=[10], epochs=2), verbose=0)
    assert set(result.test) == {"loss", "accuracy"} and 0 <= result.test["accuracy"] <= 1
    assert result.history.epochs[-1].metrics.keys() == {"accuracy"}
    assert result.test["loss"] < result.task["baseline"]["loss"] * 1.5  # it runs and learns the blanks at least


class Interrupt(Callback):
    def on_batch_end(self, step, logs):
        if self.loop.epoch == 1 and step == 20:
            raise KeyboardInterrupt


def test_a_generated_task_resumes_bit_exactly(tmp_path, monkeypatch):
    whole = train(experiment(), run_dir=tmp_path / "whole", verbose=0)
    real_fit = run_module.fit
    monkeypatch.setattr(run_module, "fit", lambda *a, callbacks=(), **k: real_fit(*a, callbacks=[*callbacks, Interrupt()], **k))
    with pytest.raises(KeyboardInterrupt):
        train(experiment(), run_dir=tmp_path / "cut", verbose=0, checkpoint_every_steps=7)
    monkeypatch.setattr(run_module, "fit", real_fit)
    resumed = train(experiment(), run_dir=tmp_path / "cut", verbose=0, resume=True)
    assert resumed.history.loss == whole.history.loss and resumed.test == whole.test
    a, b = load_file(tmp_path / "whole" / "weights.safetensors"), load_file(tmp_path / "cut" / "weights.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_train_overrides_any_key_with_set(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "adding_lstm", "--set", "data.length=12", "--set", "data.train_limit=64",
                 "--set", "data.test_limit=32", "--epochs", "1", "--out", str(run)]) == 0
    saved = json.loads((run / "result.json").read_text())
    assert saved["task"]["steps"] == 12 and saved["train_examples"] == 64 and len(saved["epochs"]) == 1
    assert "test loss" in capsys.readouterr().out
    assert main(["train", "adding_lstm", "--set", "data.length=0", "--out", str(tmp_path / "bad")]) == 2
    assert capsys.readouterr().err.strip() == "rnnzoo: error: command line: data.length: expected a positive integer, got 0"
    assert main(["train", "adding_lstm", "--set", "model.input=[3]", "--out", str(tmp_path / "bad")]) == 2
    assert "model.input: expected a key like data.length" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
