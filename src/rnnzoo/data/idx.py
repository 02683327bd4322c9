"""Decoding of IDX files, the format MNIST and Fashion-MNIST are distributed in.

Layout: two zero bytes, a type byte, a dimension-count byte, one big-endian
uint32 per dimension, then the payload in C order. Only the unsigned-byte type
(0x08) is needed for these datasets, so it is the only one accepted.
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np

from .errors import DataError

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08


def _gunzip(data: bytes, source: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip raises several unrelated types for bad input; users only need "bad gzip".
        raise DataError(f"{source}: not a valid gzip stream ({exc})") from None


def parse_idx(data: bytes, *, source: str) -> np.ndarray:
    """Decode IDX bytes (gzip'd or raw) into a uint8 array shaped by the header.

    ``source`` names where the bytes came from and is used in every error message.
    """
    if data[:2] == _GZIP_MAGIC:
        data = _gunzip(data, source)

    if len(data) < 4:
        raise DataError(f"{source}: truncated IDX header: expected at least 4 bytes, got {len(data)}")
    if data[0:2] != b"\x00\x00":
        raise DataError(
            f"{source}: wrong IDX magic number: expected 0x0000 prefix, got 0x{data[0:4].hex()}"
        )
    dtype_code, ndims = data[2], data[3]
    if dtype_code != _UBYTE:
        raise DataError(
            f"{source}: unsupported IDX element type 0x{dtype_code:02x}: only 0x08 (unsigned byte) is supported"
        )

    header_len = 4 + 4 * ndims
    if len(data) < header_len:
        raise DataError(
            f"{source}: truncated IDX header: {ndims} dims need {header_len} bytes, got {len(data)}"
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndims))

    expected = int(np.prod(dims, dtype=np.int64)) if dims else 1
    actual = len(data) - header_len
    if actual != expected:
        what = "truncated payload" if actual < expected else "trailing bytes after payload"
        raise DataError(
            f"{source}: {what}: dims {dims} need {expected} bytes, got {actual}"
        )
    # Copy so the array owns writable memory rather than viewing the bytes object.
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(dims).copy()


def encode_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as raw (uncompressed) IDX bytes; the inverse of ``parse_idx``."""
    array = np.asarray(array, dtype=np.uint8, order="C")  # (ascontiguousarray would turn 0-d into 1-d)
    header = bytes([0, 0, _UBYTE, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()
