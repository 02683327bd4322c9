"""Fixtures shared across test folders: the committed real-MNIST subset, offline; steady threads; the
GEMM choices kept apart."""

from pathlib import Path

import numpy as np
import pytest

import rnnzoo
from rnnzoo import kernels
from rnnzoo.data import Dataset
from rnnzoo.kernels import calibration

SUBSET = Path(__file__).parent / "data" / "mnist_subset.npz"


@pytest.fixture(scope="session", autouse=True)
def steady_threads():
    """torch's thread count as the test session starts, however busy the machine (kernels/threads.py):
    tests compare results within the process, and torch's own sums round differently on fewer threads.
    tests/kernels/test_threads.py tests the adaptive default; child processes run with it."""
    with kernels.configure(threads="all"):
        yield


@pytest.fixture(scope="session", autouse=True)
def own_calibration(tmp_path_factory):
    """The GEMM choices the tests time go to a folder of their own, not to the build's
    calibration.json: timed on a machine busy with tests, they would stay for the user's real runs.
    Set in the environment, so that child processes (a killed run, a study's workers) share it with
    this one: a run resumed here must meet the engines its first part ran on."""
    folder = tmp_path_factory.mktemp("calibration")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RNNZOO_CALIBRATION_DIR", str(folder))
        patch.setitem(calibration._state, "path", None)
        yield folder


@pytest.fixture(scope="session")
def mnist_subset() -> Dataset:
    """2,000 training and 500 test images of real MNIST (tests/data/README.md)."""
    with np.load(SUBSET, allow_pickle=False) as arrays:
        return Dataset("mnist", arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], str(SUBSET))


@pytest.fixture
def offline_mnist(monkeypatch, mnist_subset):
    """Make `rnnzoo.data.load` hand out the subset, so the lab and CLI run with no fetch at all."""
    calls = []

    def load(name="mnist", *, cache_dir=None):
        calls.append((name, cache_dir))
        if name != "mnist":
            raise rnnzoo.data.DataError(f"test fixture only has mnist, asked for {name}")
        return mnist_subset

    monkeypatch.setattr(rnnzoo.data, "load", load)
    return calls
