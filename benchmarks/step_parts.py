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
that it goes inside them. Then the same steps again with every native call answered at once by the
result it gave in the last timed step: what is left is the work outside the kernels alone, back to
back with its data in cache ("outside them, caches warm"); the difference to what lay outside them
in the real steps is what the kernels cost it by leaving the caches full of their own data. (The
replayed gradients are still held by the replay, so autograd copies them where a real step hands
them over: the warm figure errs high, if anything.) Run it on an otherwise idle machine; its
figures are in docs/kernel-notes.md.
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
    """The native module, each call of a kernel appended to `calls` as (name, seconds) and its result
    to `results` while `on`; while `replay` is a list, the i-th call of a step returns replay[i] at
    once instead of running."""

    def __init__(self, module):
        self.module, self.calls, self.results, self.on, self.replay = module, [], [], False, None

    def __getattr__(self, name):
        function = getattr(self.module, name)
        if not callable(function) or name in QUESTIONS:
            return function

        def timed(*args, **kwargs):
            if self.replay is not None:
                self.calls.append((name, 0.0))
                return self.replay[len(self.calls) - 1]
            if not self.on:
                return function(*args, **kwargs)
            start = time.perf_counter()
            result = function(*args, **kwargs)
            self.calls.append((name, time.perf_counter() - start))
            self.results.append(result)
            return result

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

        def same_calls():
            names = [name for name, _ in timed.calls]
            if order not in (None, names):
                raise SystemExit(f"step_parts.py: a step made other native calls than the first ({names} "
                                 f"against {order}); expected the same calls every step")
            return names

        for _ in range(steps):
            timed.calls.clear()
            timed.results.clear()
            timed.on = True
            step_s += run(1)
            timed.on = False
            order = same_calls()
            for i, (_, seconds) in enumerate(timed.calls):
                parts[i].append(seconds)
        timed.replay, warm_s = list(timed.results), []
        for _ in range(steps):  # the same steps, the kernels' results given back at once
            timed.calls.clear()
            warm_s += run(1)
            same_calls()
        timed.replay = None
        after = floor_now(products, 5)
    finally:
        build.native = real
    return {"step_s": statistics.median(step_s), "warm_outside_s": statistics.median(warm_s),
            "floor_gflops": max(before, after),
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
    print(f"    {'caches warm':18s} {1e3 * result['warm_outside_s']:8.3f} ms   (the step with the kernels' results replayed)")
    print(f"    {'left cold':18s} {1e3 * (result['outside_s'] - result['warm_outside_s']):8.3f} ms   "
          f"(what the kernels cost the rest)")
    print(f"  {'step':20s} {1e3 * result['step_s']:8.3f} ms   {result['step_percent']:5.1f} % of floor")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": where, "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "model": args.model, "mode": args.mode, "steps": args.steps, **result}, f, indent=1)


if __name__ == "__main__":
    main()
