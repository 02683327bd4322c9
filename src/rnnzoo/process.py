"""Process settings that change recurrent training speed on the CPU, applied explicitly.

glibc's malloc serves blocks above M_MMAP_THRESHOLD (128 KiB, adapting up to 32 MiB) with fresh
mmap()s and hands freed memory back to the OS past M_TRIM_THRESHOLD; a training step that
allocates and frees multi-MB activations then pays a page fault per 4 KiB page, every step.
`tune_malloc()` raises both thresholds so freed blocks are reused. With this torch and rnnzoo's
kernels it changes the typical step little (the notebook's models, medians over four alternating
processes with and without it: SimpleRNN 13.3 / 15.1 ms, GRU 25.5 / 26.0, LSTM 52.9 / 53.0), but
without it some processes ran 15-25 % slower throughout. It is a process-wide setting, so rnnzoo applies it only in processes of its own: the training commands (`reproduce`,
`train`, `resume`) and the benchmark, to every contender alike (the Keras worker does the same).
In a notebook or a program of your own, call `rnnzoo.process.tune_malloc()` to have it too.
"""

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def tune_malloc(mmap_threshold: int = 32 << 20, trim_threshold: int = 1 << 30) -> bool:
    """Keep freed multi-MB blocks in the heap (glibc only). Returns whether it was applied."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl, Windows): nothing to do
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
