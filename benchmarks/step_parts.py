"""Step parts: where one of the notebook's models spends a step, native call by native call.

    python benchmarks/step_parts.py [--model Simple_RNNs|LSTMs|GRUs] [--mode train|infer]
                                    [--steps 40] [--json FILE]

Every call into rnnzoo's native kernels (a layer's forward, its backward, a gradient product,
dropout) is timed inside steps run as `rnnzoo bench` runs them (rnnzoo's layers, torch's fused
Adam in training, all threads); the floor's 1024³ products run before and after. Printed: each
call of a step in order with its median time, the step's median, the native calls' sum and what
is left outside them (Python, autograd, the loss, Adam, the Dense layer), and the step's and the
native calls' "% of floor" as `rnnzoo bench` reckons it (the floor: the fastest product's median,
before or after). A step far below the floor whose native
calls are not says that the time goes between the kernels; one whose native calls are too says
that it goes inside them. Run it on an otherwise idle machine; its figures are in
docs/kernel-notes.md.
"""

import argparse
import json
import statistics
import time
from collections import defaultdict

import torch

from rnnzoo import kernels, process
from rnnzoo.bench import machine
from rnnzoo.bench.benchmark import TorchContender, build_rnnzoo, floor_now, floor_products, matmul_flops, seed_cases
from rnnzoo.kernels import build
from small_batches import positive


QUESTIONS = {"split_of"}  # native functions that answer a question about a call rather than run it: not listed


class Timed:
    """The native module, each call of a kernel appended to `calls` as (name, seconds) while `on`."""

    def __init__(self, module):
        self.module, self.calls, self.on = module, [], False

    def __getattr__(self, name):
        function = getattr(self.module, name)
        if not callable(function) or name in QUESTIONS:
            return function

        def timed(*args, **kwargs):
            if not self.on:
                return function(*args, **kwargs)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.calls.append((name, time.perf_counter() - start))

        return timed


def measure(case, mode: str, steps: int) -> dict:
    """The step's and every native call's median seconds over `steps` steps, and the floor's rate."""
    native = build.native()
    if native is None:
        raise SystemExit("step_parts.py: the native kernels are not available here (see `rnnzoo bench`'s first line)")
    timed = Timed(native)
    real = build.native
    build.native = lambda: timed if real() is not None else None  # every caller asks build.native() per call
    try:
        torch.manual_seed(0)
        model = TorchContender("rnnzoo", build_rnnzoo(case), case)
        run = model.train if mode == "train" else model.infer
        products = floor_products()
        run(3)  # builds the kernels, times the GEMMs, faults the pages in
        before = floor_now(products, 5)
        step_s, order, parts = [], None, defaultdict(list)
        for _ in range(steps):
            timed.calls.clear()
            timed.on = True
            step_s += run(1)
            timed.on = False
            names = [name for name, _ in timed.calls]
            if order not in (None, names):
                raise SystemExit(f"step_parts.py: a step made other native calls than the first ({names} "
                                 f"against {order}); expected the same calls every step")
            order = names
            for i, (_, seconds) in enumerate(timed.calls):
                parts[i].append(seconds)
        after = floor_now(products, 5)
    finally:
        build.native = real
    return {"step_s": statistics.median(step_s), "floor_gflops": max(before, after),
            "calls": [{"call": name, "s": statistics.median(parts[i])} for i, name in enumerate(order)]}


def main() -> None:
    cases = {case.name: case for case in seed_cases()}
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(cases), default=next(iter(cases)))
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--steps", type=positive, default=40, help="steps timed, after three not timed")
    parser.add_argument("--json", help="write the parts here")
    args = parser.parse_args()
    process.tune_malloc()
    with kernels.configure(threads="all"):  # as rnnzoo bench runs its contenders
        result = measure(cases[args.model], args.mode, args.steps)
    flops = matmul_flops(cases[args.model])[0 if args.mode == "train" else 1]
    native_s = sum(call["s"] for call in result["calls"])
    floor_s = flops / (result["floor_gflops"] * 1e9)
    result.update(native_s=native_s, outside_s=result["step_s"] - native_s,
                  step_percent=100 * floor_s / result["step_s"], native_percent=100 * floor_s / native_s)
    where = machine.describe()
    print(f"{args.model}, {'training' if args.mode == 'train' else 'inference'}, on {where['cpu']} ({where['vendor']} "
          f"family {where['family']} model {where['model']}, {where['isa']}): medians of {args.steps} steps, "
          f"floor {result['floor_gflops']:.0f} GFLOP/s")
    for call in result["calls"]:
        print(f"  {call['call']:20s} {1e3 * call['s']:8.3f} ms")
    print(f"  {'native calls':20s} {1e3 * native_s:8.3f} ms   {result['native_percent']:5.1f} % of floor")
    print(f"  {'outside them':20s} {1e3 * result['outside_s']:8.3f} ms")
    print(f"  {'step':20s} {1e3 * result['step_s']:8.3f} ms   {result['step_percent']:5.1f} % of floor")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": where, "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "model": args.model, "mode": args.mode, "steps": args.steps, **result}, f, indent=1)


if __name__ == "__main__":
    main()
