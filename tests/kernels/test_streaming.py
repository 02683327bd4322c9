"""benchmarks/streaming.py times one-step calls of rnnzoo's stateful layers and torch.nn's modules.

One round of tiny layers: what is tested is that the benchmark runs and reports what it says. Its
figures are in docs/performance.md.
"""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "streaming.py"


def test_the_streaming_benchmark_times_both_contenders_for_every_layer(tmp_path):
    out = tmp_path / "streaming.json"
    printed = subprocess.run([sys.executable, str(SCRIPT), "--kinds", "LSTM,GRU", "--units", "8,40",
                              "--batches", "1,3", "--rounds", "1", "--json", str(out)],
                             capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    report = json.loads(out.read_text())
    layers = [(row["kind"], row["units"], row["batch"]) for row in report["results"]]
    assert layers == [(kind, units, batch) for kind in ("LSTM", "GRU") for units in (8, 40) for batch in (1, 3)]
    assert all(row["rnnzoo"] > 0 and row["torch.nn"] > 0 for row in report["results"])
    assert "GRU U40 B3" in printed.stdout and "torch.nn / rnnzoo" in printed.stdout


def test_bad_arguments_are_one_line_errors():
    printed = subprocess.run([sys.executable, str(SCRIPT), "--kinds", "Transformer"], capture_output=True,
                             text=True, timeout=600)
    assert printed.returncode == 2
    assert printed.stderr.strip().splitlines()[-1].endswith(
        "argument --kinds: expected SimpleRNN, LSTM or GRU separated by commas, got 'Transformer'")
