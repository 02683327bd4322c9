"""One recurrence step's products on one thread: rnnzoo's packed GEMM against MKL's packed-weight sgemm.

    python benchmarks/step_products.py [--isa native|avx2] [--rounds 61] [--json out.json]
                                       [--shapes 1x1024x1024,2x256x1024]

Each step of a fused layer multiplies its thread's rows of x_t and h_{t-1} (the backward pass: of
dZ_t) by kernels it packed once for the whole call. torch's x86 wheels carry MKL, whose
cblas_sgemm_pack / cblas_sgemm_compute do the same with MKL's own packing: the library's
"packed-weight" form. This builds step_products.cpp (with the kernels' compiler flags and
packed_gemm.h) and times, on one thread, the products of one step of each notebook model's layers
as a thread of a 2-thread run meets them: 32 rows, lying T·width apart in (batch, T, width)
tensors. The engines take turns, 61 rounds of about 20 ms; the median GFLOP/s of each, and the
median of MKL's rate over rnnzoo's taken round by round (a slow spell of the machine then falls on
both sides of a ratio). The last column says how far MKL's products are from rnnzoo's (the largest
difference over the largest value), so that a wrong call can't pass for a fast one.
MKL is looked up in torch's libtorch_cpu at run time; where it is missing (a torch without MKL)
only rnnzoo's GEMM is timed. `--shapes MxKxN,...` times those products instead, one a line (A's
rows K floats apart): a layer's step at another batch or size, such as the few rows of a stream
(`1x1024x1536`: one sequence's step of a GRU(1024), one thread's half of its columns). Time it on an
otherwise idle machine.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
NATIVE = HERE.parent / "src" / "rnnzoo" / "kernels" / "native"
ROWS, T, FEATURES = 32, 28, 28  # a thread's half of batch 64; the notebook's rows of 28 pixels


def product(k: int, n: int, row_width: int) -> tuple[int, int, int, int]:
    """(M, K, N, lda): ROWS rows of a (batch, T, row_width) tensor, times a K x N kernel."""
    return ROWS, k, n, T * row_width


def steps() -> dict[str, list[tuple[int, int, int, int]]]:
    """The products of one step, by layer: x_t W and h_{t-1} U forward, dZ_t Uᵀ backward."""
    layers = {"SimpleRNN": [(FEATURES, 256, 1), (256, 256, 1)],  # (input width, units, gates)
              "LSTM": [(FEATURES, 256, 4), (256, 256, 4)],
              "GRU": [(FEATURES, 256, 3), (256, 128, 3)]}
    by_step = {}
    for model, stack in layers.items():
        for i, (width, units, gates) in enumerate(stack, 1):
            by_step[f"{model} layer {i} forward"] = [product(width, gates * units, width),
                                                     product(units, gates * units, units)]
            by_step[f"{model} layer {i} backward"] = [product(gates * units, units, gates * units)]
    return by_step


def shapes(text: str) -> dict[str, list[tuple[int, int, int, int]]]:
    """'MxKxN,...' as steps of one product each, A's rows K floats apart."""
    products = {}
    for shape in text.split(","):
        try:
            m, k, n = (int(size) for size in shape.strip().lower().split("x"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{shape.strip()!r}: expected MxKxN, three positive integers") from None
        if min(m, k, n) < 1:
            raise argparse.ArgumentTypeError(f"{shape.strip()!r}: expected MxKxN, three positive integers")
        products[f"{m}x{k}x{n}"] = [(m, k, n, k)]
    return products


def build(folder: Path, isa: str) -> Path:
    from rnnzoo.kernels import settings
    from rnnzoo.kernels.build import cflags

    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        sys.exit("step_products: no C++ compiler (c++ or g++) on PATH")
    with settings.configure(isa=isa):
        flags = cflags()
    binary = folder / "step_products"
    built = subprocess.run([compiler, "-std=c++17", *flags, f"-I{NATIVE}", str(HERE / "step_products.cpp"), "-o",
                            str(binary), "-ldl"], capture_output=True, text=True)
    if built.returncode != 0:
        said = built.stderr.strip().splitlines() or ["no message"]
        first_error = next((line for line in said if "error" in line), said[-1])
        sys.exit(f"step_products: the C++ benchmark did not compile ({compiler}): {first_error}")
    return binary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isa", choices=("native", "avx2"), default="native",
                        help="the widest ISA of this CPU, or AVX2 only: rnnzoo's GEMM built without AVX-512, "
                             "MKL held to AVX2 (to stand for an AVX2 CPU)")
    parser.add_argument("--rounds", type=int, default=61, help="rounds of every engine in turn (default: 61)")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--shapes", type=shapes, metavar="MxKxN,...",
                        help="these products instead of the notebook models' steps")
    args = parser.parse_args()
    from rnnzoo.bench.machine import AVX2_ONLY, cpu_fields
    from rnnzoo.lab.environment import cpu_name

    library = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    with tempfile.TemporaryDirectory() as folder:
        binary = build(Path(folder), args.isa)
        specs = [f"{name}:" + ";".join(",".join(map(str, p)) for p in products)
                 for name, products in (args.shapes or steps()).items()]
        environment = {**os.environ, **(AVX2_ONLY if args.isa == "avx2" else {})}
        ran = subprocess.run([str(binary), str(library), str(args.rounds), *specs], capture_output=True, text=True,
                             env=environment)
    if ran.returncode != 0:
        sys.exit(f"step_products: the benchmark failed (exit status {ran.returncode}): {ran.stderr.strip()}")
    lines = ran.stdout.strip().splitlines()
    held = "; MKL held to AVX2" if args.isa == "avx2" else ""
    rows = "" if args.shapes else f", {ROWS} rows a product"
    print(f"{cpu_name()}; rnnzoo's GEMM built for {args.isa}{held}; one thread{rows}; {lines[0]}")
    print(f"{'step (one thread)':28} {'GFLOP/s: rnnzoo':>16} {'MKL packed':>11} {'MKL sgemm':>10}   "
          f"MKL over rnnzoo: {'packed':>6} {'sgemm':>6}   {'max diff':>8}")
    results = []
    for line in lines[1:]:
        words = line.split()
        name, values = words[:-7], words[-7:]
        ours, packed, plain, packed_ratio, plain_ratio, packed_diff, plain_diff = map(float, values)
        results.append({"step": " ".join(name), "rnnzoo_gflops": ours, "mkl_packed_gflops": packed or None,
                        "mkl_sgemm_gflops": plain or None, "mkl_packed_over_rnnzoo": packed_ratio or None,
                        "mkl_sgemm_over_rnnzoo": plain_ratio or None,
                        "max_difference": max(packed_diff, plain_diff) if packed or plain else None})
        ratios = " ".join(f"{r:5.2f}x" if r else f"{'-':>6}" for r in (packed_ratio, plain_ratio))
        print(f"{' '.join(name):28} {ours:16.1f} {packed:11.1f} {plain:10.1f}   {'':16} {ratios}   "
              f"{max(packed_diff, plain_diff):8.1e}")
    if args.json:
        with open(args.json, "w") as handle:
            fields = cpu_fields()
            json.dump({"cpu": cpu_name(), "vendor": fields.get("vendor_id"), "family": fields.get("cpu family"),
                       "model": fields.get("model"), "isa": args.isa, "rows": None if args.shapes else ROWS,
                       "rounds": args.rounds,
                       "torch": torch.__version__, "results": results}, handle, indent=2)


if __name__ == "__main__":
    main()
