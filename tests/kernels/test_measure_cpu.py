"""benchmarks/measure_cpu.sh runs every measurement the performance page keeps for one CPU.

The commands it runs are replaced by stand-ins on PATH that log their arguments (the real ones take
half an hour): what is tested is the order of the steps, the files each writes, the AVX2 run only
on a CPU with AVX-512, and that bad arguments are one-line errors that write nothing.
"""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "measure_cpu.sh"

# Logs its name and arguments; answers the script's question about the CPU with $FAKE_ISA.
STAND_IN = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$FAKE_LOG"
if [[ "$1" == -c ]]; then echo "$FAKE_ISA"; else echo "output of $(basename "$0")"; fi
"""


def measure(tmp_path: Path, *arguments: str, isa: str = "AVX2") -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir, log = tmp_path / "bin", tmp_path / "log"
    bin_dir.mkdir(exist_ok=True)
    for name in ("python", "rnnzoo"):
        (bin_dir / name).write_text(STAND_IN)
        (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log), "FAKE_ISA": isa}
    done = subprocess.run(["bash", str(SCRIPT), *arguments], capture_output=True, text=True, env=env, timeout=60)
    return done, log.read_text().splitlines() if log.exists() else []


def test_every_step_in_order_into_files_named_by_the_tag(tmp_path):
    out = tmp_path / "results"
    done, commands = measure(tmp_path, "zen9", "0.5", str(out))
    assert done.returncode == 0, done.stderr
    o = str(out)
    per_model = [command for model, name in (("Simple_RNNs", "simple_rnn"), ("LSTMs", "lstm"), ("GRUs", "gru"))
                 for mode, name in (("train", name), ("infer", name + "_infer"))
                 for command in (f"python benchmarks/step_parts.py --model {model} --mode {mode} "
                                 f"--json {o}/step_parts_zen9_{name}.json",
                                 f"python benchmarks/drift.py --model {model} --mode {mode} --minutes 0.5 "
                                 f"--json {o}/drift_zen9_{name}.json")]
    assert commands == [
        "python -m pytest tests/kernels -q -p no:cacheprovider",
        *[f"rnnzoo bench --sweep none --no-memory --json {o}/bench_notebook_models_zen9{run}.json"
          for run in ("", "_2", "_3")],
        commands[4],  # the question about the CPU's instructions
        f"rnnzoo bench --json {o}/bench_zen9.json",
        f"python benchmarks/low_memory.py --json {o}/low_memory_zen9.json",
        *per_model,
        f"python benchmarks/cpu_summary.py zen9 --folder {o}",
    ]
    assert commands[4].startswith("python -c ")
    written = sorted(path.name for path in out.iterdir())  # each command's output kept beside its JSON
    assert written == sorted([f"bench_notebook_models_zen9{run}.txt" for run in ("", "_2", "_3")] + [
        "bench_zen9.txt", "low_memory_zen9.txt"] + [f"{script}_zen9_{n}{m}.txt" for script in ("step_parts", "drift")
                                                  for n in ("simple_rnn", "lstm", "gru") for m in ("", "_infer")]
                                                 + ["summary_zen9.md"])
    assert (out / "bench_zen9.txt").read_text() == "output of rnnzoo\n"


def test_a_cpu_with_avx512_also_runs_the_models_held_to_avx2(tmp_path):
    done, commands = measure(tmp_path, "spr", "0", str(tmp_path / "results"), isa="AVX-512")
    assert done.returncode == 0, done.stderr
    held = ("rnnzoo bench --sweep none --no-memory --isa avx2 "
            f"--json {tmp_path}/results/bench_notebook_models_spr_avx2.json")
    assert commands[5] == held and commands[6].startswith("rnnzoo bench --json ")


@pytest.mark.parametrize("arguments, message", [
    ((), "expected TAG [DRIFT_MINUTES] [FOLDER], got 0 arguments"),
    (("zen 3",), "TAG names the CPU in letters, digits or _, got 'zen 3'"),
    (("../x",), "TAG names the CPU in letters, digits or _, got '../x'"),
    (("zen3", "soon"), "DRIFT_MINUTES must be a number >= 0, got 'soon'"),
])
def test_bad_arguments_are_one_line_errors_that_run_nothing(tmp_path, arguments, message):
    done, commands = measure(tmp_path, *arguments)
    assert done.returncode == 2
    assert done.stderr == f"measure_cpu.sh: {message}\n"
    assert commands == [] and done.stdout == ""
