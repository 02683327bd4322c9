"""The kernels' one knob: `configure(...)`, for tests, measurements and debugging.

    native       True: the compiled C++ kernels run wherever they apply (the default);
                 False: never, so the pure-PyTorch engine and torch's own products run instead
    split        how a native loop shares each step among threads: "auto" (by rows when the
                 recurrent kernel is small, or when every thread gets enough sequences and the
                 kernel fits a core's cache; else by units; one thread for a call with too few
                 products to share), "rows" or "units"
    projection   "auto": native float32 loops make x_t W + b themselves, a step at a time;
                 "hoisted": always one product over all steps before the loop
    memory       what a training forward keeps for the backward pass: "full" every step's gates
                 and states; "low" only the state at every k-th step (k = ceil(sqrt(T))), each
                 segment's gates recomputed in the backward pass (more time, memory O(sqrt(T)));
                 "auto" (the default) "low" when "full" would keep more than route.LOW_MEMORY_BYTES
    gemm         which GEMM makes the projection's gradients (projection.py) and the recurrent
                 kernel's (fused.py): "auto" (the default) the fastest for the shape on this machine,
                 timed once and kept with the build (calibration.py); "native", "onednn" or "blas"
                 that one wherever it can run, for a hoisted projection too. The recurrence's per-step products always run on the native
                 micro-kernel.
    isa          which vector instructions the native kernels are compiled for: "native" (the default)
                 the widest this CPU has (-march=native); "avx2" no AVX-512 (-mno-avx512f), as on a CPU
                 without it: a build of its own, compiled on first use like the other
    threads      "free" (the default): while other processes keep cores busy, torch's thread count
                 is lowered to the cores left free, and raised back to the user's count after
                 (threads.py); "all": the user's count always

Every setting changes speed (and memory) only: "auto" and "hoisted" projections on the same GEMM
(gemm="native"; under "auto" the hoisted projection's gradients run on the engine calibration chose),
and in float32 the two splits, give results equal to the bit; float64 splits, the two engines and the
GEMMs agree to float rounding. The kernels give the same bits with any thread count; torch's own
operations may round differently on fewer threads, which is why "all" exists.

    rnnzoo.kernels.configure(native=False)          # from now on
    with rnnzoo.kernels.configure(split="units"):   # inside the block only
        ...
"""

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Settings:
    native: bool = True
    split: str = "auto"
    projection: str = "auto"
    memory: str = "auto"
    gemm: str = "auto"
    isa: str = "native"
    threads: str = "free"


CHOICES = {"split": ("auto", "rows", "units"), "projection": ("auto", "hoisted"), "memory": ("auto", "full", "low"),
           "gemm": ("auto", "native", "onednn", "blas"), "isa": ("native", "avx2"), "threads": ("free", "all")}

_current = [Settings()]


def current() -> Settings:
    return _current[0]


class configure:
    """Changes the kernels' settings now; used as `with configure(...):`, restores them at the end."""

    def __init__(self, **changes):
        names = {field.name for field in fields(Settings)}
        for key, value in changes.items():
            if key not in names:
                raise TypeError(f"configure() got an unknown setting {key!r}; expected one of {sorted(names)}")
            if key == "native" and not isinstance(value, bool):
                raise TypeError(f"native must be True or False, got {value!r}")
            if key in CHOICES and value not in CHOICES[key]:
                raise ValueError(f"{key} must be one of {CHOICES[key]}, got {value!r}")
        self.previous = current()
        _current[0] = replace(self.previous, **changes)

    def __enter__(self) -> Settings:
        return current()

    def __exit__(self, *exc) -> None:
        _current[0] = self.previous
