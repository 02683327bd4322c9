"""Shared fixtures for tests/data.

No test here runs pip, and only one touches the network (Debian's archive, a package registry,
for Fashion-MNIST's `apt-get download`): the per-dataset source list
(``rnnzoo.data.sources.SOURCES``) and the expected shapes/checksums
(``rnnzoo.data.datasets.SHAPES`` / ``CHECKSUMS``) are module-level tables that
the ``tiny`` fixture swaps for small test versions.
"""

import pytest
from data_fakes import Tiny, make_arrays

from rnnzoo.data import datasets, sources
from rnnzoo.data.cache import sha256_of


@pytest.fixture
def tiny(monkeypatch) -> Tiny:
    """Make "mnist" a tiny dataset: small shapes, matching checksums, no sources yet."""
    arrays = make_arrays()
    monkeypatch.setattr(datasets, "SHAPES", {k: v.shape for k, v in arrays.items()})
    monkeypatch.setitem(datasets.CHECKSUMS, "mnist", {k: sha256_of(v) for k, v in arrays.items()})
    monkeypatch.setitem(sources.SOURCES, "mnist", ())
    return Tiny(arrays, monkeypatch)
