"""benchmarks/cpu_summary.py puts one CPU's measurements side by side against issue 13's targets.

Fed files of measure_cpu.sh's names and shapes, made here with chosen figures: what is tested is
that each figure printed is the one its file holds, that the runs meeting a target are counted
right, and that the sweep's cases below 70 % or behind torch.nn are the ones named.
"""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "cpu_summary.py"
MACHINE = {"cpu": "Test CPU", "vendor": "GenuineIntel", "family": 6, "model": 143, "isa": "AVX-512", "cpus": 2}


def result(case: str, train_percent: float, infer_percent: float, lead: float = 1.5) -> dict:
    """A bench result whose rnnzoo runs at the given % of a 10 ms floor, torch.nn `lead` times slower."""
    train_ms, infer_ms = 10 / (train_percent / 100), 10 / (infer_percent / 100)
    return {"case": case, "floor_train_ms": 10.0, "floor_infer_ms": 10.0,
            "train_ms": {"rnnzoo": train_ms, "torch.nn": lead * train_ms},
            "infer_ms": {"rnnzoo": infer_ms, "torch.nn": lead * infer_ms}}


def write(folder: Path, name: str, report: dict) -> None:
    (folder / name).write_text(json.dumps(report))


def summarize(folder: Path, tag: str = "spr") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), tag, "--folder", str(folder)], capture_output=True, text=True,
                          timeout=60)


def test_each_figure_is_its_files_and_the_targets_are_counted(tmp_path):
    runs = {"": (80.0, 90.0), "_2": (74.9, 84.9), "_3": (76.0, 86.0)}  # the GRU's train / infer % in each run
    for run, (train, infer) in runs.items():
        write(tmp_path, f"bench_notebook_models_spr{run}.json", {"machine": MACHINE, "results": [
            result("Simple_RNNs", 60.0, 70.0), result("LSTMs", 90.0, 95.0), result("GRUs", train, infer)]})
    write(tmp_path, "bench_spr.json", {"machine": MACHINE, "results": [
        result("Simple_RNNs", 61.0, 71.0), result("LSTMs", 91.0, 96.0), result("GRUs", 77.0, 87.0, lead=2.0),
        result("LSTM B64 T28 U1024", 88.0, 92.0, lead=0.97), result("GRU B64 T28 U64", 41.0, 69.95, lead=0.5),
        result("SimpleRNN B512 T28 U256", 83.0, 88.0)]})
    write(tmp_path, "drift_spr_gru.json", {"summary": {"rounds": 12, "percent": {"median": 76.25}, "at_target": 0.5}})
    write(tmp_path, "step_parts_spr_lstm_infer.json", {"native_s": 0.0179, "outside_s": 0.0005, "step_s": 0.0184,
                                                       "native_percent": 89.7, "step_percent": 87.3})
    write(tmp_path, "step_parts_spr_gru.json", {"native_s": 0.0145, "outside_s": 0.0019, "warm_outside_s": 0.0009,
                                                "step_s": 0.0164, "native_percent": 77.8, "step_percent": 68.6})
    write(tmp_path, "low_memory_spr.json", {"units": 256, "steps": 784, "batch": 64,
                                            "full": {"step_ms": 500.0, "peak_rss_mb": 1000.0},
                                            "low": {"step_ms": 700.0, "peak_rss_mb": 400.0}})
    done = summarize(tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "# spr: Test CPU (GenuineIntel family 6 model 143, AVX-512), 2 CPUs"
    assert "| GRUs | bench_notebook_models_spr_2 | 74.9 % | 1.50× | 84.9 % | 1.50× |" in lines
    assert "| GRUs | bench_spr | 77.0 % | 2.00× | 87.0 % | 2.00× |" in lines
    assert "- Simple_RNNs: training at 75 % in 0 of 4 runs, inference at 85 % in 0 of 4" in lines
    assert "- LSTMs: training at 75 % in 4 of 4 runs, inference at 85 % in 4 of 4" in lines
    assert "- GRUs: training at 75 % in 3 of 4 runs, inference at 85 % in 3 of 4" in lines
    sweep = lines[lines.index("## The sweep") + 2:]
    assert sweep[0] == "3 cases; lowest % of floor: training 41 %, inference 70 %; below 70 % or not ahead of torch.nn:"
    assert sweep[1:3] == ["- LSTM B64 T28 U1024: not ahead of torch.nn: train 0.97×, infer 0.97×",
                          "- GRU B64 T28 U64: train 41.0 %, infer 70.0 %; not ahead of torch.nn: train 0.50×, "
                          "infer 0.50×"]  # 69.95 is below the line
    assert "| GRUs | train | 12 | 76.2 % | 50 % |" in lines
    assert "| LSTMs | infer | 17.90 ms, 89.7 % | 0.50 ms | - | 18.40 ms, 87.3 % |" in lines  # a file from before the replay
    assert "| GRUs | train | 14.50 ms, 77.8 % | 1.90 ms | 0.90 ms | 16.40 ms, 68.6 % |" in lines
    assert lines[-1] == ("LSTM(256) at T 784, batch 64: full 500 ms, peak 1000 MB; low 700 ms, peak 400 MB: "
                         "1.40× the time for 0.40 of the peak")


def test_no_files_for_the_tag_is_a_one_line_error(tmp_path):
    done = summarize(tmp_path, "zen9")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"cpu_summary.py: no bench_notebook_models_zen9*.json or bench_zen9.json in {tmp_path}; "
                           "expected the files measure_cpu.sh writes\n")
