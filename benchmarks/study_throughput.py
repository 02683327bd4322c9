"""Trials per hour of a study: the default workers × threads against one trial at a time.

    python benchmarks/study_throughput.py [--trials 4] [--json out.json]

Runs the same small study (row-MNIST presets, one short epoch each, --trials trials in all) twice
into fresh folders: with rnnzoo's default layout for this machine (`rnnzoo.studies.local.layout`)
and as one trial at a time with 2 threads. Prints both wall times and the throughput ratio
(above 1: the default is faster). Reads MNIST from rnnzoo's cache (`rnnzoo data fetch` first).
Time it on an otherwise idle machine.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

from rnnzoo.lab.environment import cpu_name
from rnnzoo.studies import parse_study, run_study
from rnnzoo.studies.local import cores, layout

MODELS = ("rows_lstm", "rows_gru", "rows_simple_rnn", "rows_mingru")


def study(trials: int):
    models = MODELS * -(-trials // len(MODELS))
    return parse_study({
        "name": "throughput", "seeds": [0],
        "overrides": {"data.train_limit": 3000, "data.test_limit": 500, "training.epochs": 1},
        "experiments": [{"preset": preset, "model": f"{preset}_{i}"}
                        for i, preset in enumerate(models[:trials])],
    }, "throughput benchmark")


def timed(trials: int, workers: int, threads: int) -> float:
    with tempfile.TemporaryDirectory(prefix="rnnzoo-throughput-") as folder:
        started = time.perf_counter()
        run_study(study(trials), out=Path(folder) / "study", workers=workers, threads=threads, report=False,
                  console=None)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    workers, threads = layout(args.trials)
    default = timed(args.trials, workers, threads)
    serial = timed(args.trials, 1, 2)
    result = {"cpu": cpu_name(), "cores": cores(), "trials": args.trials, "default": f"{workers}x{threads}",
              "default_seconds": default, "serial_2_threads_seconds": serial, "throughput_ratio": serial / default}
    print(f"{args.trials} trials on {cores()} cores ({cpu_name()}): default {workers} workers × {threads} thread(s) "
          f"{default:.1f} s, one at a time × 2 threads {serial:.1f} s; throughput ratio {serial / default:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
