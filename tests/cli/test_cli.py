"""The command line: each subcommand end to end, exit codes, one-line errors without tracebacks."""

import json
import subprocess
import sys

import pytest

from rnnzoo.cli.main import main


def rnnzoo(*args):
    """Run the real console entry point in a fresh process."""
    return subprocess.run([sys.executable, "-m", "rnnzoo.cli.main", *args], capture_output=True, text=True, timeout=120)


def test_summary_prints_keras_table():
    done = rnnzoo("summary", "lstm")
    assert done.returncode == 0
    assert "Total params: 819,722" in done.stdout and " lstm_1 (LSTM)               (None, 256)               525312" in done.stdout


@pytest.mark.parametrize("args, message", [
    (("summary", "nope"), "'nope' is neither a preset"),
    (("train", "missing.toml"), "missing.toml: no such file"),
])
def test_user_errors_exit_2_without_traceback(args, message):
    done = rnnzoo(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_flag_is_usage_error():
    done = rnnzoo("reproduce", "--quik")
    assert done.returncode == 2 and "unrecognized arguments: --quik" in done.stderr


def test_config_error_from_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[model]\nlayers = [{ type = "LSTM", units = -3 }]\n')
    done = rnnzoo("summary", str(bad))
    assert done.returncode == 2
    assert "model.layers[0]: units must be a positive integer, got -3" in done.stderr


def test_train_then_evaluate(offline_mnist, tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text('name = "Tiny"\n[model]\nlayers = [{ type = "SimpleRNN", units = 16 }, { type = "Dense", units = 10 }]\n'
                      '[training]\nepochs = 1\n')
    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "32/32 - " in out and "test accuracy" in out  # 2,000 examples in batches of 64
    assert json.loads((tmp_path / "run" / "experiment.json").read_text())["training"]["seed"] == 3
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 2  # never overwrites
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    assert "Tiny: test accuracy" in capsys.readouterr().out
    assert main(["train", str(config), "--epochs", "0"]) == 2


def test_reproduce_quick(offline_mnist, tmp_path, capsys):
    assert main(["reproduce", "--quick", "--models", "simple_rnn", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| Simple_RNNs (simple_rnn) | 206,858 |" in out and "Results written to" in out
    assert main(["reproduce", "--quick", "--models", "simple_rnn", "--out", str(tmp_path)]) == 2
    assert main(["reproduce", "--quick", "--models", "nope", "--out", str(tmp_path / "x")]) == 2


def test_data_fetch_reports_failure_with_exit_1(tmp_path, monkeypatch, capsys):
    import rnnzoo.data

    def fail(name, *, cache_dir=None, force=False, log=print):
        raise rnnzoo.data.DataError("every source failed: mirror (offline)")

    monkeypatch.setattr(rnnzoo.data, "fetch", fail)
    assert main(["data", "fetch", "--cache-dir", str(tmp_path)]) == 1
    assert "rnnzoo: error: every source failed" in capsys.readouterr().err


def test_debug_shows_the_traceback():
    done = rnnzoo("--debug", "summary", "nope")
    assert done.returncode != 0 and "Traceback" in done.stderr and "ConfigError" in done.stderr


def test_unwritable_output_is_a_runtime_error_exit_1(offline_mnist, tmp_path, monkeypatch, capsys):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro"))

    monkeypatch.setattr("tempfile.mkstemp", denied)
    assert main(["train", "simple_rnn", "--epochs", "1", "--out", str(tmp_path / "ro")]) == 1
    err = capsys.readouterr().err
    assert "Permission denied" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["train", "simple_rnn", "--epochs", "0"], ["resume", "no-such-run"],
                                  ["reproduce", "--models", "nope"], ["summary", "lstm"]])
def test_training_commands_keep_freed_memory_in_the_heap(argv, monkeypatch, capsys):
    """reproduce / train / resume own their process: they apply rnnzoo.process.tune_malloc first
    (these arguments are refused after that); other commands leave malloc alone."""
    from rnnzoo import process

    calls = []
    monkeypatch.setattr(process, "tune_malloc", lambda: calls.append(True) or True)
    main(argv)
    assert len(calls) == (0 if argv[0] == "summary" else 1)
