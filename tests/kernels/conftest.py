"""The native kernels are built (or loaded from the cache) once per test session, up front."""

import os

import pytest
import torch

from rnnzoo import kernels
from rnnzoo.kernels import build, calibration


@pytest.fixture(scope="session", autouse=True)
def native_kernels():
    return build.native()


@pytest.fixture
def native(native_kernels):
    if native_kernels is None:
        if os.environ.get("CI"):  # CI has a compiler: a failed build there is a failure, not a skip
            pytest.fail("the native kernels could not be built (see the warning)")
        pytest.skip("the native kernels could not be built here (see the warning)")
    return native_kernels


@pytest.fixture
def kernel_settings():
    """`kernels.configure` for one test: whatever it sets, the settings before it come back after."""
    with kernels.configure():
        yield kernels.configure


@pytest.fixture
def torch_threads():
    """`torch.set_num_threads` for one test: the count before it comes back after."""
    previous = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(previous)


@pytest.fixture
def calibration_folder(tmp_path, monkeypatch):
    """A build folder of its own for calibration's choices, as a fresh machine has it: no calibration.json yet."""
    monkeypatch.setattr(calibration, "_path", lambda: tmp_path / "calibration.json")
    monkeypatch.setattr(calibration, "_state", {"path": None, "said": False})
    monkeypatch.setattr(calibration, "_chosen", {})
    monkeypatch.setattr(calibration, "_used", {})
    monkeypatch.setattr(calibration, "_answers", {})
    return tmp_path
