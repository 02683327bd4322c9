"""MNIST and Fashion-MNIST as verified uint8 numpy arrays, cached locally.

    >>> from rnnzoo.data import load, rows
    >>> ds = load("mnist")          # cache, else mirrors, else offline fallbacks
    >>> x = rows(ds.x_train)        # float32 (60000, 28, 28): one image row per time step
"""

from .datasets import DATASETS, Dataset, default_cache_dir, fetch, load, rows
from .errors import DataError

__all__ = ["DATASETS", "DataError", "Dataset", "default_cache_dir", "fetch", "load", "rows"]
