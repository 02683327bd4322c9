"""Small batches: one recurrent layer run three ways — one thread, two splitting the rows, two
splitting the units — and the way `kernels.configure(split="auto")` takes.

    python benchmarks/small_batches.py [--kinds SimpleRNN,LSTM,GRU] [--units 64,128,256]
                                       [--batches 1,2,4,8] [--steps 196] [--rounds 5] [--json FILE]

Below 6 rows a thread the native loop can split a step by rows (each thread its own sequences, no
barrier) or by units (a barrier every step); which is faster depends on the recurrent kernel's
size and on the machine. Each layer (return_sequences, 28 features) is timed at inference (no
gradients) and in training (forward and backward of the outputs' sum), the three ways taking turns
in every round; the medians over rounds are printed with the ratios units / rows and one thread /
rows (above 1: rows faster). "auto" is the kernels' rule, or "timed rows" / "timed units" where
calibration times the split (6 rows a thread or more and a kernel over 1 MiB, as `--batches 48,64
--units 1024` asks). Time it on an otherwise idle machine; its figures are in docs/kernel-notes.md.
"""

import argparse
import json
import statistics
import time

import torch

from rnnzoo import kernels
from rnnzoo.kernels import build, fused
from rnnzoo.layers.registry import LAYER_TYPES
from rnnzoo.process import tune_malloc

WAYS = {"one thread": (1, "rows"), "rows": (2, "rows"), "units": (2, "units")}  # threads, split
TARGET_S = 0.01  # each timing repeats a call for about this long


def numbers(text: str) -> list[int]:
    parts = text.split(",")
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}")
    return [int(part) for part in parts]


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def kinds(text: str) -> list[str]:
    names = text.split(",")
    if any(name not in ("SimpleRNN", "LSTM", "GRU") for name in names):
        raise argparse.ArgumentTypeError(f"expected SimpleRNN, LSTM or GRU separated by commas, got {text!r}")
    return names


def call(layer, x, mode: str):
    if mode == "infer":
        with torch.no_grad():
            layer(x)
    else:
        layer(x).sum().backward()


def median_time(layer, x, mode: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call(layer, x, mode)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(kind: str, units: int, batch: int, steps: int, rounds: int) -> dict:
    layer = LAYER_TYPES[kind](units=units, return_sequences=True)
    x = torch.randn(batch, steps, 28)
    torch.set_num_threads(2)  # "auto" as the two ways on two threads meet it
    call(layer, x, "infer")  # builds the weights (and where "auto" times the split, times it)
    kernel = layer.cell.recurrent_kernel
    kernel_bytes = kernel.numel() * kernel.element_size()
    timed = fused.NativeEngine(build.native()).split(kernel, batch, steps)  # "auto" where not timed
    auto = build.native().split_of(batch=batch, steps=steps, units=units, kernel_bytes=kernel_bytes)
    row = {"kind": kind, "units": units, "batch": batch, "steps": steps, "kernel_kib": kernel_bytes / 1024,
           "auto": auto if timed == "auto" else f"timed {timed}"}
    for mode in ("infer", "train"):
        call(layer, x, mode)
        start = time.perf_counter()
        call(layer, x, mode)
        repeats = max(2, min(40, round(TARGET_S / (time.perf_counter() - start))))
        times = {way: [] for way in WAYS}
        for _ in range(rounds):
            for way, (threads, split) in WAYS.items():
                torch.set_num_threads(threads)
                with kernels.configure(split=split):
                    call(layer, x, mode)  # the first call at a thread count wakes its threads
                    times[way].append(median_time(layer, x, mode, repeats))
        row[mode] = {way: 1e3 * statistics.median(t) for way, t in times.items()}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", type=kinds, default=["SimpleRNN", "LSTM", "GRU"])
    parser.add_argument("--units", type=numbers, default=[64, 128, 256])
    parser.add_argument("--batches", type=numbers, default=[1, 2, 4, 8])
    parser.add_argument("--steps", type=positive, default=196)
    parser.add_argument("--rounds", type=positive, default=5)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    from rnnzoo.lab.environment import cpu_name

    tune_malloc()
    kernels.configure(threads="all")  # the counts set here, whatever else runs
    threads = torch.get_num_threads()
    print(f"{cpu_name()}; T {args.steps}, 28 features; ms, medians of {args.rounds} rounds; "
          f"the ratios above 1 when rows are faster")
    print(f"{'layer':22} {'kernel':>9} {'auto':>10} | {'mode':5} {'1 thread':>9} {'rows':>8} {'units':>8} "
          f"{'units/rows':>10} {'1t/rows':>8}")
    rows = []
    try:
        for kind in args.kinds:
            for units in args.units:
                for batch in args.batches:
                    row = measure(kind, units, batch, args.steps, args.rounds)
                    rows.append(row)
                    for mode in ("infer", "train"):
                        t = row[mode]
                        print(f"{kind + f' U{units} B{batch}':22} {row['kernel_kib']:6.0f}KiB {row['auto']:>10} | "
                              f"{mode:5} {t['one thread']:9.3f} {t['rows']:8.3f} {t['units']:8.3f} "
                              f"{t['units'] / t['rows']:10.2f} {t['one thread'] / t['rows']:8.2f}", flush=True)
    finally:
        torch.set_num_threads(threads)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"cpu": cpu_name(), "threads": threads, "steps": args.steps, "rounds": args.rounds,
                       "results": rows}, out, indent=2)


if __name__ == "__main__":
    main()
