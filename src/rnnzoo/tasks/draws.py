"""Random numbers that name their example: the same draws on every machine, in any order.

Example i of a generated set is made from its own Philox-4x64 stream, keyed by (seed, split) and
starting at counter (0, i, 0, 0): streams of different examples are 2^64 blocks apart, so they never
overlap, and any batch of indices can be generated alone (shuffled epochs, resumed runs, workers).
Only the raw 64-bit words are used, turned into uniforms by a fixed rule, so the data do not depend
on numpy's version of its distribution functions.
"""

from __future__ import annotations

import numpy as np

TRAIN, TEST, PERMUTATION = 0, 1, 2  # the split word of the key
TEST_SEED = 0  # the test sets are fixed: the same for every training seed


def raw(seed: int, split: int, index: int, count: int) -> np.ndarray:
    """`count` raw uint64 words of example `index`."""
    key = np.array([seed & 0xFFFF_FFFF_FFFF_FFFF, split], dtype=np.uint64)
    counter = np.array([0, index, 0, 0], dtype=np.uint64)
    return np.random.Philox(key=key, counter=counter).random_raw(count)


def uniforms(seed: int, split: int, indices, count: int) -> np.ndarray:
    """(len(indices), count) float64 uniforms in [0, 1), the top 53 bits of each word."""
    words = np.stack([raw(seed, split, int(i), count) for i in indices])
    return (words >> np.uint64(11)).astype(np.float64) * 2.0**-53


def permutation(n: int, seed: int) -> np.ndarray:
    """A fixed permutation of range(n): the stable argsort of n raw words of stream (seed, PERMUTATION)."""
    return np.argsort(raw(seed, PERMUTATION, 0, n), kind="stable")
