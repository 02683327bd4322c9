"""The native kernels are built (or loaded from the cache) once per test session, up front."""

import pytest

from rnnzoo.kernels import build


@pytest.fixture(scope="session", autouse=True)
def native_kernels():
    return build.native()


@pytest.fixture
def native(native_kernels):
    if native_kernels is None:
        pytest.skip("the native kernels could not be built here (see the warning)")
    return native_kernels
