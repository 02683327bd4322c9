"""The machine a benchmark ran on and the products rnnzoo chose there, kept with every `rnnzoo bench` run.

    describe()  ->  {"cpu": "AMD EPYC", "vendor": "AuthenticAMD", "family": 25, "model": 1, "cpus": 2,
                     "isa": "AVX2", "torch_isa": "AVX2", "kernels": {...}}
    summary(d)  ->  one printable line

"isa" is the widest vector instruction set the CPU has (the native kernels are compiled with
-march=native, so it is also theirs); "torch_isa" is the one torch's own CPU kernels dispatch to.
"torch_isa" reads AVX2 in a process held to AVX2 (AVX2_ONLY), as `rnnzoo bench --isa avx2` runs.
"kernels" says what runs the fused path's products: the native micro-kernel's tile (rows x
columns of C kept in registers, packed_gemm.h) for the recurrence's per-step products, and for
the products over all steps (the input projection, its gradients and the recurrent kernel's) the
`gemm` setting ("auto": the fastest per shape, kernels/calibration.py) and the GEMMs it chooses
from (kernels/projection.py).
"""

import os
from pathlib import Path

import torch

from ..kernels import build, projection, settings

CPUINFO = Path("/proc/cpuinfo")
# What holds torch's own libraries to AVX2: ATen's kernels, MKL (torch.mm) and oneDNN (nn.LSTM,
# nn.GRU, the oneDNN GEMM). Each reads its variable once, when it first runs, so it must be in the
# environment before torch does any work: a benchmark that stands for a CPU without AVX-512 runs
# in a process started with these (benchmark.run_benchmark(isa="avx2")), or its floor and its
# torch.nn contender would still use AVX-512 while rnnzoo's kernels don't.
AVX2_ONLY = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
TILES = {"AVX-512": "8x32", "AVX2": "6x16"}  # packed_gemm.h's MR x NR for each vector width
ENGINES = {"native": "the rnnzoo micro-kernel", "onednn": "oneDNN", "blas": "torch.mm (BLAS)"}


def cpu_fields(cpuinfo: Path = CPUINFO) -> dict:
    """The first processor's entries of /proc/cpuinfo ({} where there is none)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def held_to_avx2(environ=os.environ) -> bool:
    """Whether this environment holds torch's libraries to AVX2 (AVX2_ONLY)."""
    return all(environ.get(name) == value for name, value in AVX2_ONLY.items())


def widest_isa(flags: set[str]) -> str:
    if "avx512f" in flags:
        return "AVX-512"
    if "avx2" in flags and "fma" in flags:
        return "AVX2"
    return "SSE" if flags else "unknown"


def describe(cpuinfo: Path = CPUINFO) -> dict:
    fields = cpu_fields(cpuinfo)
    isa = widest_isa(set(fields.get("flags", "").split()))
    kernel_isa = "AVX2" if settings.current().isa == "avx2" and isa == "AVX-512" else isa
    native = build.native() is not None
    return {
        "cpu": fields.get("model name", "unknown"),
        "vendor": fields.get("vendor_id", "unknown"),
        "family": _number(fields, "cpu family"),
        "model": _number(fields, "model"),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "isa": isa,
        "torch_isa": torch.backends.cpu.get_cpu_capability(),
        "held_to_avx2": held_to_avx2(),  # ATen, MKL and oneDNN alike
        "kernels": {
            "native": native,
            "isa": kernel_isa,  # what the native kernels were compiled for: isa, or AVX2 with configure(isa="avx2")
            "recurrence": f"rnnzoo micro-kernel {kernel_isa} {TILES.get(kernel_isa, '')}".strip() if native
                          else "portable (torch.mm)",
            "projection": settings.current().gemm,  # "auto": per shape, calibration.py
            "gemms": list(projection.engines(torch.empty(1), "input_grad")),
        },
    }


def _number(fields: dict, key: str) -> int | None:
    return int(fields[key]) if fields.get(key, "").isdigit() else None


def summary(machine: dict) -> str:
    kernels = machine["kernels"]
    return (f"machine: {machine['cpu']} ({machine['vendor']}, family {machine['family']} model {machine['model']}), "
            f"{machine['cpus']} CPUs, {machine['isa']} (torch dispatches {machine['torch_isa']}"
            f"{'; MKL and oneDNN held to AVX2' if machine.get('held_to_avx2') else ''}); products: "
            f"recurrence on the {kernels['recurrence']}, input projection and the gradients on {projection_text(kernels)}")


def projection_text(kernels: dict) -> str:
    if kernels["projection"] != "auto":
        return ENGINES[kernels["projection"]]
    if kernels["gemms"][0] != "native":  # without the native GEMM nothing is timed (projection.engine)
        return ENGINES[kernels["gemms"][0]]
    names = ", ".join(ENGINES[name] for name in kernels["gemms"])
    return f"the fastest per shape of {names} (timed once per machine, listed with each case)"
