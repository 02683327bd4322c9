"""The lab on real data: training learns, runs are saved and reloaded, reproduce writes its report."""

import json
import subprocess
import sys

import pytest

import rnnzoo
from rnnzoo.config import parse
from rnnzoo.lab import OutputExistsError, load_run, reproduce, train


def small_experiment(units=32, epochs=2, seed=0):
    return parse({
        "name": "SmallGRU",
        "model": {"input": [28], "layers": [{"type": "GRU", "units": units}, {"type": "Dense", "units": 10}]},
        "optimizer": {"learning_rate": 0.005},
        "training": {"batch_size": 64, "epochs": epochs, "seed": seed},
    })


def test_learns_real_mnist_far_above_chance(mnist_subset):
    result = train(small_experiment(), dataset=mnist_subset, verbose=0)
    assert result.train_examples == 2000 and result.test_examples == 500
    assert result.test["accuracy"] > 0.6  # chance is 0.1
    assert result.history.loss[-1] < result.history.loss[0]


def test_notebook_preset_learns_on_the_subset(mnist_subset):
    experiment = rnnzoo.load_preset("simple_rnn")
    experiment = parse({**experiment.to_dict(), "training": {"epochs": 1, "batch_size": 64, "seed": 0}})
    result = train(experiment, dataset=mnist_subset, verbose=0)
    assert result.params == 206_858
    assert result.test["accuracy"] > 0.5


def test_same_seed_same_result(mnist_subset):
    a = train(small_experiment(units=8, epochs=1), dataset=mnist_subset, verbose=0)
    b = train(small_experiment(units=8, epochs=1), dataset=mnist_subset, verbose=0)
    c = train(small_experiment(units=8, epochs=1, seed=1), dataset=mnist_subset, verbose=0)
    assert a.history.loss == b.history.loss and a.test == b.test
    assert c.history.loss != a.history.loss


def test_run_folder_round_trip(mnist_subset, tmp_path):
    result = train(small_experiment(units=8, epochs=1), dataset=mnist_subset, run_dir=tmp_path / "run", verbose=0)
    saved = json.loads((tmp_path / "run" / "result.json").read_text())
    assert saved["params"] == result.params and saved["test"]["accuracy"] == result.test["accuracy"]
    assert {"torch", "cpu", "torch_threads", "python"} <= set(saved["environment"])
    experiment, model = load_run(tmp_path / "run")
    assert experiment == result.experiment
    metrics = rnnzoo.evaluate(model, rnnzoo.data.rows(mnist_subset.x_test), mnist_subset.y_test.astype("int64"), verbose=0)
    assert metrics["accuracy"] == pytest.approx(result.test["accuracy"])


def test_load_run_refuses_mismatched_weights(mnist_subset, tmp_path):
    train(small_experiment(units=8, epochs=1), dataset=mnist_subset, run_dir=tmp_path / "run", verbose=0)
    other = small_experiment(units=8).to_dict()
    other["model"]["layers"].insert(0, {"type": "GRU", "units": 8, "return_sequences": True})
    (tmp_path / "run" / "experiment.json").write_text(json.dumps(other))
    with pytest.raises(ValueError, match="does not match its experiment"):
        load_run(tmp_path / "run")
    with pytest.raises(FileNotFoundError, match="not a run folder"):
        load_run(tmp_path)


def test_reproduce_quick_writes_the_report(offline_mnist, tmp_path, capsys):
    results = reproduce(tmp_path / "out", quick=True, models=("simple_rnn",))
    out = tmp_path / "out"
    for name in ("results.json", "results.md", "learning_curves.png", "tradeoffs.png", "simple_rnn/weights.safetensors"):
        assert (out / name).is_file(), name
    assert (out / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    data = json.loads((out / "results.json").read_text())
    assert data["simple_rnn"]["params"] == 206_858 and len(data["simple_rnn"]["epochs"]) == 2
    table = (out / "results.md").read_text()
    assert "| Simple_RNNs (simple_rnn) | 206,858 |" in table and "95.68%" in table
    assert results["simple_rnn"].test["accuracy"] > 0.3
    assert "Epoch 2/2" in capsys.readouterr().out


def test_reproduce_never_overwrites_results(offline_mnist, tmp_path):
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        reproduce(tmp_path, quick=True, models=("simple_rnn",))
    assert (tmp_path / "results.json").read_text() == "{}"


def test_import_leaves_matplotlib_and_the_display_alone():
    """The report draws on a Figure of its own, imported when it draws: `import rnnzoo` neither waits
    for matplotlib nor switches a notebook's backend."""
    code = "import sys, rnnzoo; print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
