"""Two trainings at once on one machine: each one's step time against the same training alone.

    from rnnzoo.bench.side_by_side import run_side_by_side
    rows = run_side_by_side()                        # what `rnnzoo bench --side-by-side` calls

Studies run several trials per machine, and users share machines; threads that spin at barriers
while a core is taken by someone else turn a 2x slowdown into a much larger one (what rnnzoo does
about it: kernels/threads.py). For
each contender (rnnzoo with backend="auto", torch.nn with the same sizes; see benchmark.py) and
each thread setting (torch's default, all cores; and torch.set_num_threads(1)) this times the
notebook's model (the preset `gru` by default: batch 64, T 28) training alone, then two identical
trainings, each in its own process, started together. A step is forward, cross-entropy,
backward and Adam, as in benchmark.py; medians over `steps` steps after `warmup`.

Each row prints `pair / alone`: 2.0 is what two trainings sharing the cores fairly cost; more
means the contention itself wastes time. Nothing here is asserted: it is a measurement.
"""

import json
import statistics
import subprocess
import sys

from .benchmark import Case, TorchContender, TorchNN, build_rnnzoo

CONTENDERS = ("rnnzoo", "torch.nn")


def worker(contender: str, preset: str, threads: int | None, warmup: int, steps: int) -> None:
    """Runs in a child process: warms up, says "ready", waits for a line on stdin, prints step times."""
    import torch

    from ..presets import load_preset

    if threads is not None:
        torch.set_num_threads(threads)
    experiment = load_preset(preset)
    case = Case(experiment.name, [spec.to_dict() for spec in experiment.model.layers])
    torch.manual_seed(0)
    model = build_rnnzoo(case) if contender == "rnnzoo" else TorchNN(case)
    runner = TorchContender(contender, model, case)
    runner.train(warmup)
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(runner.train(steps)), flush=True)


def _start(contender: str, preset: str, threads: int | None, warmup: int, steps: int) -> subprocess.Popen:
    code = "import sys, json; from rnnzoo.bench.side_by_side import worker; worker(*json.loads(sys.argv[1]))"
    argument = json.dumps([contender, preset, threads, warmup, steps])
    return subprocess.Popen([sys.executable, "-c", code, argument], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)


def step_times(copies: int, contender: str, preset: str = "gru", threads: int | None = None, warmup: int = 10,
               steps: int = 60) -> list[float]:
    """Median step time (ms) of each of `copies` identical trainings timed at the same time."""
    workers = [_start(contender, preset, threads, warmup, steps) for _ in range(copies)]
    try:
        for process in workers:  # all warmed up (kernels loaded, pools started) before any timing
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a {contender} worker failed before timing (see its error above)")
        for process in workers:
            process.stdin.write("go\n")
            process.stdin.flush()
        return [1e3 * statistics.median(json.loads(process.stdout.readline())) for process in workers]
    finally:
        for process in workers:
            process.kill()
            process.wait()


def run_side_by_side(preset: str = "gru", warmup: int = 10, steps: int = 60, print_table: bool = True) -> list[dict]:
    """For each contender and thread setting: the step time alone, each of two at once, their ratio."""
    rows = []
    for threads in (None, 1):
        for contender in CONTENDERS:
            alone = step_times(1, contender, preset, threads, warmup, steps)[0]
            pair = step_times(2, contender, preset, threads, warmup, steps)
            rows.append({"contender": contender, "threads": threads or "default", "alone_ms": alone,
                         "pair_ms": pair, "pair_over_alone": max(pair) / alone})
    if print_table:
        print(format_table(rows, preset))
    return rows


def format_table(rows: list[dict], preset: str) -> str:
    lines = [f"two trainings of the preset '{preset}' at once, each in its own process (median step, ms)",
             f"{'contender':<10} {'threads':>8} {'alone':>8} {'each of two':>15} {'pair/alone':>11}"]
    for row in rows:
        pair = " ".join(f"{t:6.1f}" for t in row["pair_ms"])
        lines.append(f"{row['contender']:<10} {row['threads']!s:>8} {row['alone_ms']:8.1f} {pair:>15} "
                     f"{row['pair_over_alone']:10.2f}x")
    by = {(r["contender"], r["threads"]): r for r in rows}
    for threads in dict.fromkeys(r["threads"] for r in rows):
        if ("rnnzoo", threads) in by and ("torch.nn", threads) in by:
            ours, theirs = by[("rnnzoo", threads)], by[("torch.nn", threads)]
            lines.append(f"threads {threads}: rnnzoo's pair/alone over torch.nn's "
                         f"{ours['pair_over_alone'] / theirs['pair_over_alone']:.2f}; rnnzoo's step in a pair "
                         f"over torch.nn's {max(ours['pair_ms']) / max(theirs['pair_ms']):.2f}")
    return "\n".join(lines)
