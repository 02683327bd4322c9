"""A stateful LSTM trained with truncated BPTT on the copy task through the lab (`[data] window`),
killed with SIGKILL mid-epoch and resumed bit for bit: the kept LSTM state travels in checkpoints."""

import json
import tomllib
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnnzoo.config import ConfigError, load, parse
from rnnzoo.lab import train
from rnnzoo.lab.run import examples

from .sigkill import assert_same_run, kill_at_checkpoint

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stateful_copy.toml"


def experiment(epochs=2):
    """examples/stateful_copy.toml made small: copy with T = 10 (30 steps) in windows of 10."""
    settings = tomllib.loads(EXAMPLE.read_text())
    settings["model"]["input"] = [10, 10]
    settings["model"]["layers"][0]["units"] = 16
    settings["model"]["layers"][0]["dropout"] = 0.1  # so the RNG state matters too
    settings["data"].update(length=10, window=10, train_limit=64, test_limit=16)
    settings["training"].update(batch_size=8, epochs=epochs)
    return parse(settings)


CHILD = """
    import sys, json
    from rnnzoo.config import parse
    from rnnzoo.lab import train
    train(parse(json.loads(sys.argv[2])), run_dir=sys.argv[1], verbose=0, checkpoint_every_steps=3)
"""


def test_the_example_experiment_is_valid():
    exp = load(EXAMPLE)
    assert exp.data.window == 20 and exp.build_model().layers[0].stateful


def test_windows_follow_each_example_lane_by_lane():
    exp = experiment()
    task, train_set, _ = examples(exp)
    assert len(train_set) == 64 * 3  # 64 examples, 3 windows each
    whole_x, whole_y, _ = train_set.examples.batch(torch.arange(16))
    for k in range(6):  # batch k: window k % 3 of examples 8 (k // 3) .. 8 (k // 3) + 7
        x, y, _ = train_set.batch(torch.arange(8 * k, 8 * k + 8))
        group, piece = divmod(k, 3)
        rows = slice(8 * group, 8 * group + 8)
        assert torch.equal(x, whole_x[rows, 10 * piece:10 * piece + 10])
        assert torch.equal(y, whole_y[rows, 10 * piece:10 * piece + 10])


def test_a_window_that_does_not_divide_the_steps_is_refused():
    settings = experiment().to_dict()
    settings["data"]["window"] = 7
    with pytest.raises(ConfigError, match="data.window: expected a divisor of the 30 steps"):
        parse(settings)


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    exp = experiment()
    reference = tmp_path / "reference"
    train(exp, run_dir=reference, verbose=0)

    run_dir = tmp_path / "killed"
    # a checkpoint inside the second epoch, mid-stream (the kept state is not zero there)
    kill_at_checkpoint(CHILD, [str(run_dir), json.dumps(exp.to_dict())], run_dir, "ckpt-001-00000[4-9]")
    newest = sorted((run_dir / "checkpoints").glob("ckpt-*"))[-1]
    kept = load_file(newest / "model.safetensors")["lstm.state_0"]
    assert kept.shape == (8, 16) and kept.abs().sum() > 0  # the checkpoint carries the LSTM's kept state

    result = train(exp, run_dir=run_dir, resume=True, verbose=0)
    assert_same_run(reference, run_dir, result)
