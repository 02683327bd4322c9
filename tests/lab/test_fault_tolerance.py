"""Never lose finished work: SIGKILL and resume, refusals, a full disk."""

import errno
import importlib
import json
import os
from pathlib import Path

import pytest
import torch

from rnnzoo.cli.main import main
from rnnzoo.config import parse
from rnnzoo.lab import OutputExistsError, reproduce, train
from rnnzoo.lab import run as run_module
from rnnzoo.training import CheckpointError

from .sigkill import assert_same_run, kill_at_checkpoint

SUBSET = Path(__file__).resolve().parents[1] / "data" / "mnist_subset.npz"


def experiment(epochs=2, units=16):
    return parse({
        "name": "Tiny",
        "model": {"input": [28], "layers": [
            {"type": "GRU", "units": units, "return_sequences": True, "dropout": 0.1},
            {"type": "Dropout", "rate": 0.2}, {"type": "GRU", "units": units}, {"type": "Dense", "units": 10}]},
        "data": {"train_limit": 640, "test_limit": 200},
        "optimizer": {"decay": 1e-4},
        "training": {"batch_size": 32, "epochs": epochs, "seed": 3},
    })


CHILD = """
    import sys, json, numpy as np
    from rnnzoo.config import parse
    from rnnzoo.data import Dataset
    from rnnzoo.lab import train
    arrays = np.load(sys.argv[1])
    data = Dataset("mnist", arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], "subset")
    train(parse(json.loads(sys.argv[3])), dataset=data, run_dir=sys.argv[2], verbose=0, checkpoint_every_steps=3)
"""


def test_sigkill_mid_epoch_then_resume_gives_identical_weights(mnist_subset, tmp_path):
    exp = experiment()
    reference = tmp_path / "reference"
    train(exp, dataset=mnist_subset, run_dir=reference, verbose=0)

    run_dir = tmp_path / "killed"
    # killed at a checkpoint inside the second epoch (epoch index 1, past step 0)
    kill_at_checkpoint(CHILD, [str(SUBSET), str(run_dir), json.dumps(exp.to_dict())], run_dir, "ckpt-001-00000[3-9]")
    assert not (run_dir / "result.json").exists()

    result = train(exp, dataset=mnist_subset, run_dir=run_dir, resume=True, verbose=0)
    assert_same_run(reference, run_dir, result)


def test_resume_refuses_another_experiment(mnist_subset, tmp_path):
    train(experiment(epochs=1), dataset=mnist_subset, run_dir=tmp_path, verbose=0)
    with pytest.raises(CheckpointError, match=r"belongs to another experiment: training\.epochs: 1 in the checkpoint, 3 now"):
        train(experiment(epochs=3), dataset=mnist_subset, run_dir=tmp_path, resume=True, verbose=0)
    with pytest.raises(OutputExistsError, match="rnnzoo resume"):
        train(experiment(epochs=1), dataset=mnist_subset, run_dir=tmp_path, verbose=0)
    with pytest.raises(CheckpointError, match="no checkpoint to resume from"):
        train(experiment(), dataset=mnist_subset, run_dir=tmp_path / "empty", resume=True, verbose=0)


def test_reproduce_resume_skips_finished_models(offline_mnist, tmp_path, monkeypatch):
    reproduce(tmp_path, quick=True, models=("simple_rnn",), verbose=0)
    first = (tmp_path / "simple_rnn" / "result.json").read_text()
    reproduce_module = importlib.import_module("rnnzoo.lab.reproduce")  # the module, not the function it exports
    monkeypatch.setattr(reproduce_module, "train", lambda *a, **k: pytest.fail("a finished model was retrained"))
    results = reproduce(tmp_path, quick=True, models=("simple_rnn",), resume=True, verbose=0)
    assert results["simple_rnn"].params == 206_858
    assert (tmp_path / "simple_rnn" / "result.json").read_text() == first
    assert (tmp_path / "results.md").exists()


def test_cli_resume_continues_a_train_run(offline_mnist, tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text('name = "Tiny"\n[model]\nlayers = [{ type = "SimpleRNN", units = 8 }, { type = "Dense", units = 10 }]\n'
                      '[training]\nepochs = 1\n')
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 0
    (tmp_path / "run" / "result.json").unlink()  # as if it died after its last checkpoint
    assert main(["resume", str(tmp_path / "run")]) == 0
    assert "resuming Tiny from" in capsys.readouterr().out
    assert (tmp_path / "run" / "result.json").exists()
    assert main(["resume", str(tmp_path)]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def test_full_disk_leaves_earlier_files_intact(mnist_subset, tmp_path, monkeypatch):
    result = train(experiment(epochs=1), dataset=mnist_subset, run_dir=tmp_path, verbose=0)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    real_fdopen = os.fdopen

    def full(fd, mode="r", *args, **kwargs):
        handle = real_fdopen(fd, mode, *args, **kwargs)
        if "w" in mode:
            handle.write = lambda data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device"))
        return handle

    monkeypatch.setattr("os.fdopen", full)
    with pytest.raises(OSError, match="No space left"):
        run_module.save_run(tmp_path, torch.nn.Linear(2, 2), result)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before  # nothing damaged, no temporary files left behind


def test_resume_refuses_a_checkpoint_from_another_version(mnist_subset, tmp_path):
    train(experiment(epochs=1), dataset=mnist_subset, run_dir=tmp_path, verbose=0)
    newest = sorted((tmp_path / "checkpoints").glob("ckpt-*"))[-1]
    meta = json.loads((newest / "meta.json").read_text())
    meta["metadata"]["rnnzoo"] = "0.0.1"
    (newest / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"written by rnnzoo 0\.0\.1, this is 0\.1\.0"):
        train(experiment(epochs=1), dataset=mnist_subset, run_dir=tmp_path, resume=True, verbose=0)
