import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays as np_arrays

from rnnzoo.data import DataError
from rnnzoo.data.idx import encode_idx, parse_idx


@settings(max_examples=40, deadline=None)
@given(
    array=np_arrays(np.uint8, st.lists(st.integers(0, 5), min_size=0, max_size=4).map(tuple)),
    compress=st.booleans(),
)
def test_round_trip(array, compress):
    data = encode_idx(array)
    if compress:
        data = gzip.compress(data)
    out = parse_idx(data, source="t")
    assert out.dtype == np.uint8 and out.shape == array.shape
    np.testing.assert_array_equal(out, array)


def test_mnist_like_header():
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    data = encode_idx(array)
    assert data[:4] == b"\x00\x00\x08\x03"
    assert data[4:8] == (2).to_bytes(4, "big")
    assert parse_idx(data, source="t").flags.writeable


def test_wrong_magic():
    data = b"\x01\x00" + encode_idx(np.zeros(3, np.uint8))[2:]
    with pytest.raises(DataError, match=r"src\.gz: wrong IDX magic"):
        parse_idx(data, source="src.gz")


def test_unsupported_type():
    data = bytearray(encode_idx(np.zeros(3, np.uint8)))
    data[2] = 0x0D  # float32 in the IDX spec
    with pytest.raises(DataError, match=r"src: unsupported IDX element type 0x0d"):
        parse_idx(bytes(data), source="src")


@pytest.mark.parametrize("cut", [0, 2, 5, 11])  # a 2-d header is 12 bytes
def test_truncated_header(cut):
    data = encode_idx(np.zeros((2, 3), np.uint8))[:cut]
    with pytest.raises(DataError, match=r"src: truncated IDX header"):
        parse_idx(data, source="src")


def test_truncated_payload():
    data = encode_idx(np.zeros((2, 3), np.uint8))[:-1]
    with pytest.raises(DataError, match=r"src: truncated payload: dims \(2, 3\) need 6 bytes, got 5"):
        parse_idx(data, source="src")


def test_trailing_bytes():
    data = encode_idx(np.zeros((2, 3), np.uint8)) + b"\x00"
    with pytest.raises(DataError, match=r"src: trailing bytes .* need 6 bytes, got 7"):
        parse_idx(data, source="src")


@pytest.mark.parametrize("damage", ["truncate", "garble"])
def test_bad_gzip(damage):
    data = gzip.compress(encode_idx(np.arange(100, dtype=np.uint8)))
    data = data[:15] if damage == "truncate" else data[:10] + b"\xff" * 20 + data[30:]
    with pytest.raises(DataError, match=r"src: not a valid gzip stream"):
        parse_idx(data, source="src")
