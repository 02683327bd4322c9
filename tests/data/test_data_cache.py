"""Cache behaviour: verified hits skip fetching; anything damaged is reported and re-fetched."""

import numpy as np
import pytest
from data_fakes import FakeSource

from rnnzoo.data import fetch, load
from rnnzoo.data.cache import write_cache


@pytest.fixture
def cached(tiny, tmp_path):
    """A tiny dataset fetched once into tmp_path, with a counting source behind it."""
    tiny.source = FakeSource("fake", tiny.arrays)
    tiny.use_sources(tiny.source)
    fetch("mnist", cache_dir=tmp_path, log=tiny.log)
    assert tiny.source.calls == 1
    tiny.messages.clear()
    return tiny


def test_good_cache_is_used_without_fetching(cached, tmp_path):
    ds = load("mnist", cache_dir=tmp_path)
    assert ds.source == "cache" and cached.source.calls == 1
    np.testing.assert_array_equal(ds.x_test, cached.arrays["x_test"])
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == [
        "x_test.npy", "x_train.npy", "y_test.npy", "y_train.npy"]  # no temp files left behind


def test_force_refetches_even_when_cached(cached, tmp_path):
    ds = fetch("mnist", cache_dir=tmp_path, force=True, log=cached.log)
    assert ds.source == "fake" and cached.source.calls == 2


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path):
    path.write_bytes(path.read_bytes()[:100])


def _pickled_object_array(path):
    # An .npy that needs pickle to load must be refused by allow_pickle=False.
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)


@pytest.mark.parametrize("damage, reason", [
    (_flip_last_byte, "is corrupt (checksum mismatch); re-fetching"),
    (_truncate, "is corrupt (ValueError"),
    (_pickled_object_array, "allow_pickle=False); re-fetching"),
    (lambda p: np.save(p, np.zeros((6, 28, 28))), "is corrupt (expected uint8 (6, 28, 28), got float64"),
    (lambda p: p.unlink(), "is missing; re-fetching"),
])
def test_damaged_cache_file_is_reported_and_refetched(cached, tmp_path, damage, reason):
    path = tmp_path / "mnist" / "x_train.npy"
    damage(path)
    ds = fetch("mnist", cache_dir=tmp_path, log=cached.log)
    assert ds.source == "fake" and cached.source.calls == 2
    assert cached.messages[0].startswith(f"cache file {path} ")
    assert reason in cached.messages[0]
    np.testing.assert_array_equal(ds.x_train, cached.arrays["x_train"])
    # ...and the cache is repaired.
    assert load("mnist", cache_dir=tmp_path).source == "cache"


def test_unwritable_cache_still_returns_data(tiny, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    tiny.use_sources(FakeSource("fake", tiny.arrays))
    ds = fetch("mnist", cache_dir=blocker, log=tiny.log)
    assert ds.source == "fake"
    assert tiny.messages[-1].startswith(f"warning: cannot write cache {blocker / 'mnist'}")


def test_write_cache_overwrites_atomically(tmp_path):
    write_cache(tmp_path, {"a": np.zeros(3, np.uint8)})
    write_cache(tmp_path, {"a": np.ones(3, np.uint8)})
    assert [p.name for p in tmp_path.iterdir()] == ["a.npy"]
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.ones(3, np.uint8))
