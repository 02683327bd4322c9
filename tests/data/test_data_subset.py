"""The committed MNIST subset is what tests/data/README.md says it is."""

import hashlib
from pathlib import Path

import numpy as np

from rnnzoo.data import rows

SUBSET = Path(__file__).with_name("mnist_subset.npz")

# SHA-256 of each array's raw bytes, recorded when the file was made.
EXPECTED = {
    "x_train": ((2000, 28, 28), "4d1e2862007bab5908d814e74806c6c8f7c4a4f32b5875d195406d4d1dbe4946"),
    "y_train": ((2000,), "e1be9271eae282fe1479074d79e9b9523ada775ebb01e19299727123e3acca5e"),
    "x_test": ((500, 28, 28), "6e96778c418dfcfff0dcfdbcb4af54d86e5c54326bf5e7ead99cf94b6434a405"),
    "y_test": ((500,), "8f1017277349b4d0cf35af1d8eb881a016da52d52204bee2d89c22930be2e9a2"),
}


def test_subset_contents():
    with np.load(SUBSET, allow_pickle=False) as z:
        assert sorted(z.files) == sorted(EXPECTED)
        for key, (shape, digest) in EXPECTED.items():
            array = z[key]
            assert array.dtype == np.uint8 and array.shape == shape
            assert hashlib.sha256(array.tobytes()).hexdigest() == digest
        assert list(z["y_train"][:5]) == [5, 0, 4, 1, 9]  # MNIST's well-known first labels
        x = rows(z["x_test"])
        assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert SUBSET.stat().st_size < 1_000_000
