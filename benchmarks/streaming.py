"""Streaming: a stateful layer fed one step at a time, as a model serving live input runs it —
rnnzoo against torch.nn in one process, taking turns.

    python benchmarks/streaming.py [--kinds SimpleRNN,LSTM,GRU] [--units 64,256,1024]
                                   [--batches 1,8] [--rounds 7] [--json FILE]

Every call is one step, (batch, 1, 28), at inference (no gradients). rnnzoo's layer has
stateful=True and keeps its state between calls; torch.nn's module (batch_first, the same sizes) is
handed the state it returned, as PyTorch users write it. So short a call is mostly fixed costs —
Python, argument checks, allocations, waking threads — which is what this measures, next to the
product h_{t-1} U whose kernel the step streams. Both run with torch's threads as they are. Printed:
µs per call, medians over rounds, and torch.nn's time over rnnzoo's (above 1: rnnzoo faster). Time
it on an otherwise idle machine; its figures are in docs/performance.md.
"""

import argparse
import json
import statistics
import time

import torch

from rnnzoo.layers.registry import LAYER_TYPES
from rnnzoo.process import tune_malloc
from small_batches import kinds, numbers, positive

TORCH = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}
FEATURES = 28
TARGET_S = 0.02  # each timing repeats the call for about this long


def contenders(kind: str, units: int, batch: int) -> dict:
    """One-step callables: rnnzoo's stateful layer and torch.nn's module carrying its state."""
    ours = LAYER_TYPES[kind](units=units, stateful=True).eval()
    theirs = TORCH[kind](FEATURES, units, batch_first=True).eval()
    x = torch.randn(batch, 1, FEATURES)
    state = {"h": None}

    def torch_step():
        _, state["h"] = theirs(x, state["h"])

    return {"rnnzoo": lambda: ours(x), "torch.nn": torch_step}


def per_call(step, seconds: float) -> float:
    calls, start = 0, time.perf_counter()
    while True:
        step()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / calls


def measure(kind: str, units: int, batch: int, rounds: int) -> dict:
    steps = contenders(kind, units, batch)
    times = {name: [] for name in steps}
    with torch.no_grad():
        for step in steps.values():
            per_call(step, TARGET_S)  # builds the weights; packs and keeps them (rnnzoo)
        for _ in range(rounds):
            for name, step in steps.items():
                times[name].append(1e6 * per_call(step, TARGET_S))
    return {"kind": kind, "units": units, "batch": batch, **{name: statistics.median(t) for name, t in times.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", type=kinds, default=["SimpleRNN", "LSTM", "GRU"])
    parser.add_argument("--units", type=numbers, default=[64, 256, 1024])
    parser.add_argument("--batches", type=numbers, default=[1, 8])
    parser.add_argument("--rounds", type=positive, default=7)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    from rnnzoo.lab.environment import cpu_name

    tune_malloc()
    print(f"{cpu_name()}; {torch.get_num_threads()} threads; one step a call, {FEATURES} features; "
          f"µs per call, medians of {args.rounds} rounds")
    print(f"{'layer':22} {'rnnzoo':>8} {'torch.nn':>9} {'torch.nn / rnnzoo':>18}")
    rows = []
    for kind in args.kinds:
        for units in args.units:
            for batch in args.batches:
                row = measure(kind, units, batch, args.rounds)
                rows.append(row)
                print(f"{kind + f' U{units} B{batch}':22} {row['rnnzoo']:8.1f} {row['torch.nn']:9.1f} "
                      f"{row['torch.nn'] / row['rnnzoo']:17.2f}x", flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"cpu": cpu_name(), "threads": torch.get_num_threads(), "rounds": args.rounds,
                       "results": rows}, out, indent=2)


if __name__ == "__main__":
    main()
