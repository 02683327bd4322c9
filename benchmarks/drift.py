"""Drift: one of the notebook's models and the GEMM floor taking turns for minutes, to show how far
one `rnnzoo bench` run's "% of floor" can move on this machine.

    python benchmarks/drift.py [--model Simple_RNNs|LSTMs|GRUs] [--mode train|infer]
                               [--minutes 8] [--steps 10] [--json FILE]

`rnnzoo bench` times each contender over a few rounds and the floor (the fastest 1024³ sgemm)
between them, all within a minute or so: on a VM whose speed moves from minute to minute, each
run's ratio is one draw. This repeats a short round for as many minutes as asked: `--steps` steps
of the model as the bench runs it (rnnzoo's layers, torch's fused Adam in training), the first of
them dropped, then each floor product three times. A round's % of the floor is the time the
model's products take at the fastest product's median rate, over the steps' median. Printed: the
spread of the rounds' step times, floor rates and percentages, the share of rounds at or above
the target (75 % in training, 85 % at inference), and how closely the step time follows the
floor's rate. Run it on an otherwise idle machine; its figures are in docs/performance.md.
"""

import argparse
import json
import statistics
import time

import torch

from rnnzoo import kernels, process
from rnnzoo.bench import machine
from rnnzoo.bench.benchmark import TorchContender, build_rnnzoo, floor_now, floor_products, matmul_flops, seed_cases
from small_batches import positive

TARGET = {"train": 75.0, "infer": 85.0}  # % of the floor, the project's targets


def rounds(case, mode: str, minutes: float, steps: int) -> list[dict]:
    """Rounds of `steps` steps and the floor products until `minutes` have passed (at least one)."""
    torch.manual_seed(0)
    model = TorchContender("rnnzoo", build_rnnzoo(case), case)
    run = model.train if mode == "train" else model.infer
    products = floor_products()
    run(3)  # builds the kernels, times the GEMMs, faults the pages in
    for product in products:
        product.run(2)
    flops = matmul_flops(case)[0 if mode == "train" else 1]
    measured, end = [], time.monotonic() + 60 * minutes
    while not measured or time.monotonic() < end:
        step_s = statistics.median(run(steps + 1)[1:])
        rate = floor_now(products, 3)
        measured.append({"step_ms": 1e3 * step_s, "floor_gflops": rate, "percent": 100 * flops / (rate * 1e9) / step_s})
    return measured


def spread(values: list[float]) -> dict:
    """min, quartiles and max (all equal for a single value)."""
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    return {"min": min(values), "q1": q1, "median": median, "q3": q3, "max": max(values)}


def summary(measured: list[dict], target: float) -> dict:
    steps = [r["step_ms"] for r in measured]
    rates = [r["floor_gflops"] for r in measured]
    percents = [r["percent"] for r in measured]
    try:  # undefined for a single round, or a constant series
        follows = statistics.correlation(steps, rates)
    except statistics.StatisticsError:
        follows = None
    return {"rounds": len(measured), "step_ms": spread(steps), "floor_gflops": spread(rates),
            "percent": spread(percents), "at_target": sum(p >= target for p in percents) / len(percents),
            "correlation": follows}


def minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected minutes, a number >= 0, got {text!r}")
    return value


def main() -> None:
    cases = {case.name: case for case in seed_cases()}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(cases), default=next(iter(cases)))
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--minutes", type=minutes, default=8.0, help="how long to go on (0: one round)")
    parser.add_argument("--steps", type=positive, default=10, help="steps a round, after one dropped")
    parser.add_argument("--json", help="write the rounds and their summary here")
    args = parser.parse_args()
    process.tune_malloc()
    with kernels.configure(threads="all"):  # as rnnzoo bench runs its contenders
        measured = rounds(cases[args.model], args.mode, args.minutes, args.steps)
    target = TARGET[args.mode]
    result = summary(measured, target)
    where = machine.describe()

    def line(name: str, values: dict) -> str:
        return f"  {name:14s}" + " / ".join(f"{values[k]:.1f}" for k in ("min", "q1", "median", "q3", "max"))

    print(f"{args.model}, {'training' if args.mode == 'train' else 'inference'}, on {where['cpu']} ({where['vendor']} "
          f"family {where['family']} model {where['model']}, {where['isa']}): rounds of {args.steps} steps, "
          f"{result['rounds']} in {args.minutes:g} minutes")
    print("                min / quartiles / max")
    print(line("step ms", result["step_ms"]))
    print(line("floor GFLOP/s", result["floor_gflops"]))
    print(line("% of floor", result["percent"]))
    print(f"  rounds at or above {target:g} % of the floor: {100 * result['at_target']:.0f} %")
    follows = result["correlation"]
    print("  correlation of step time with the floor's rate: " + ("-" if follows is None else f"{follows:+.2f}"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": where, "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "model": args.model, "mode": args.mode, "steps": args.steps, "minutes": args.minutes,
                       "summary": result, "rounds": measured}, f, indent=1)


if __name__ == "__main__":
    main()
