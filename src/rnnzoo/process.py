"""Process settings that change recurrent training speed on the CPU, applied explicitly.

glibc's malloc serves blocks above M_MMAP_THRESHOLD (128 KiB, adapting up to 32 MiB) with fresh
mmap()s and hands freed memory back to the OS past M_TRIM_THRESHOLD; a training step that
allocates and frees multi-MB activations then pays a page fault, and the OS a zero-fill, per
4 KiB page, every step. `tune_malloc()` keeps all of it in the heap for reuse: no mmap() at all
(M_MMAP_MAX = 0; the threshold alone cannot go above 32 MiB, and a long sequence's activations
are bigger) and a trim threshold of 1 GiB. It matters where blocks exceed 32 MiB (long sequences,
big batches) and little at the notebook's sizes; docs/performance.md has the measurements.
It is a process-wide setting, so rnnzoo applies it only in processes of its own: the training
commands (`reproduce`, `train`, `resume`) and the benchmark, to every contender alike (the Keras
worker and benchmarks/keras_epoch.py do the same). In a notebook or a program of your own, call
`rnnzoo.process.tune_malloc()` to have it too. Freed memory then stays with the process (up to
the trim threshold) instead of going back to the OS.
"""

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4


def tune_malloc(mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30, mmap_max: int = 0) -> bool:
    """Keep freed blocks, however big, in the heap (glibc only). Returns whether it was applied."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): nothing to do
        return False
    settings = ((M_MMAP_THRESHOLD, mmap_threshold), (M_TRIM_THRESHOLD, trim_threshold), (M_MMAP_MAX, mmap_max))
    return all(bool(mallopt(option, value)) for option, value in settings)
