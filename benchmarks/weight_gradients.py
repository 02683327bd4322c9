"""The weight gradients' products on rnnzoo's GEMM against MKL's, for the notebook models' layers.

    python benchmarks/weight_gradients.py [--threads 2] [--rounds 21] [--json out.json]

A fused layer's backward makes its kernels' gradients as products Sᵀ dZ whose depth is batch × time
(1792 rows for the notebook's batch of 64 and 28 steps): S = [h_{t-1} | x_t] for the recurrent and
input kernels in one product (SimpleRNN, LSTM), or h_{t-1} and x_t apart (GRU), and dZ the gates'
gradients. This times, on the same random operands, rnnzoo's `matmul_tn` (gemm_tn_parallel in
native/packed_gemm.h: Sᵀ dZ and dZ's column sums, the bias gradient) against torch.mm(S.t(), dZ)
and dZ.sum(0) (MKL in torch's x86 wheels), taking turns in --rounds rounds of about 20 ms each: the
median GFLOP/s of each and the median of MKL's rate over rnnzoo's taken round by round, so that a
slow spell of the machine falls on both sides of a ratio. The last column is the largest difference
over the largest value, so that a wrong product can't pass for a fast one. (The layers reach the
same products through module.recurrent_gradient, which reads S's rows where they lie; calibration
chooses between the engines per shape, kernels/calibration.py.) Time it on an otherwise idle machine.
"""

import argparse
import json
import statistics
import time

import torch

from small_batches import positive

ROWS = 64 * 28  # the notebook's batch x steps


def products() -> dict[str, tuple[int, int]]:
    """(S's width, dZ's width) by layer: Sᵀ dZ is S's width x dZ's width, ROWS deep."""
    return {"SimpleRNN layer 1 [h|x]ᵀ dZ": (256 + 28, 256), "SimpleRNN layer 2 [h|x]ᵀ dZ": (256 + 256, 256),
            "LSTM layer 1 [h|x]ᵀ dZ": (256 + 28, 1024), "LSTM layer 2 [h|x]ᵀ dZ": (256 + 256, 1024),
            "GRU layer 1 hᵀ dZ": (256, 768), "GRU layer 1 xᵀ dZ": (28, 768),
            "GRU layer 2 hᵀ dZ": (128, 384), "GRU layer 2 xᵀ dZ": (256, 384)}


def seconds(run, calls: int) -> float:
    """The best of three timings of `calls` calls, per call."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=positive, default=2,
                        help="torch's thread count, which both follow (default: 2)")
    parser.add_argument("--rounds", type=positive, default=21, help="rounds of both engines in turn (default: 21)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    from rnnzoo.bench import machine
    from rnnzoo.kernels import build

    native = build.native()
    if native is None:
        raise SystemExit("weight_gradients: the native kernels could not be built here")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cases = []
    for name, (m, n) in products().items():
        S, dZ = torch.randn(ROWS, m), torch.randn(ROWS, n)
        ours, sums = native.matmul_tn(S, dZ)
        want = torch.mm(S.t(), dZ)
        difference = max((ours - want).abs().max().item() / want.abs().max().item(),
                         (sums - dZ.sum(0)).abs().max().item() / dZ.sum(0).abs().max().item())
        gflop = 2 * ROWS * m * n / 1e9
        calls = max(1, round(0.02 / (gflop / 300)))  # about 20 ms a timing at 300 GFLOP/s
        engines = {"rnnzoo": lambda S=S, dZ=dZ: native.matmul_tn(S, dZ),
                   "mkl": lambda S=S, dZ=dZ: (torch.mm(S.t(), dZ), dZ.sum(0))}
        cases.append((name, m, n, gflop, calls, engines, difference))
    rates = {name: {"rnnzoo": [], "mkl": []} for name, *_ in cases}
    for round_ in range(args.rounds):
        for name, _, _, gflop, calls, engines, _ in cases:
            for engine in (("rnnzoo", "mkl") if round_ % 2 == 0 else ("mkl", "rnnzoo")):
                rates[name][engine].append(gflop / seconds(engines[engine], calls))

    where = machine.describe()
    print(f"{where['cpu']} ({where['vendor']} family {where['family']} model {where['model']}, {where['isa']}); "
          f"{args.threads} threads; {ROWS} rows deep; {args.rounds} rounds in turns")
    print(f"{'product':30} {'M x N':>11} {'GFLOP/s: rnnzoo':>16} {'MKL':>6}   {'MKL over rnnzoo':>15}   {'max diff':>8}")
    results = []
    for name, m, n, _, _, _, difference in cases:
        ours, theirs = rates[name]["rnnzoo"], rates[name]["mkl"]
        ratio = statistics.median(b / a for a, b in zip(ours, theirs))
        results.append({"product": name, "m": m, "n": n, "rows": ROWS, "rnnzoo_gflops": statistics.median(ours),
                        "mkl_gflops": statistics.median(theirs), "mkl_over_rnnzoo": ratio,
                        "max_difference": difference})
        print(f"{name:30} {f'{m} x {n}':>11} {statistics.median(ours):16.1f} {statistics.median(theirs):6.1f}   "
              f"{ratio:14.3f}x   {difference:8.1e}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": where, "torch": torch.__version__, "threads": args.threads, "rounds": args.rounds,
                       "results": results}, handle, indent=2)


if __name__ == "__main__":
    main()
