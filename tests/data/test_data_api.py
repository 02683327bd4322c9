"""Public API: names, verification, dataset names, default_cache_dir, rows."""

from pathlib import Path

import numpy as np
import pytest
from data_fakes import FakeSource

import rnnzoo.data as data
from rnnzoo.data import DATASETS, DataError, Dataset, default_cache_dir, fetch, load, rows


def test_public_names():
    assert set(data.__all__) == {"DATASETS", "DataError", "Dataset", "default_cache_dir", "fetch", "load", "rows"}
    assert DATASETS == ("mnist", "fashion_mnist")


def test_unknown_dataset_names_the_choices(tmp_path):
    with pytest.raises(DataError, match=r"unknown dataset 'cifar10': expected one of mnist, fashion_mnist"):
        load("cifar10", cache_dir=tmp_path)


def test_checksum_mismatch_names_source_and_array_and_is_not_cached(tiny, tmp_path):
    bad = {k: v.copy() for k, v in tiny.arrays.items()}
    bad["y_test"][0] ^= 1
    tiny.use_sources(FakeSource("mirror X", bad))
    with pytest.raises(DataError) as info:
        fetch("mnist", cache_dir=tmp_path, log=tiny.log)
    message = str(info.value)
    assert "mirror X: array y_test failed its checksum: expected sha256" in message
    assert "\n" not in message
    assert not (tmp_path / "mnist").exists()


def test_checksum_mismatch_falls_through_to_a_good_source(tiny, tmp_path):
    bad = {k: v.copy() for k, v in tiny.arrays.items()}
    bad["x_train"][0, 0, 0] ^= 1
    tiny.use_sources(FakeSource("bad", bad), FakeSource("good", tiny.arrays))
    assert fetch("mnist", cache_dir=tmp_path, log=tiny.log).source == "good"
    assert "bad: array x_train failed its checksum" in tiny.messages[0]


def test_wrong_shape_is_refused_before_hashing(tiny, tmp_path):
    bad = dict(tiny.arrays, x_test=tiny.arrays["x_test"].reshape(3, 784))
    tiny.use_sources(FakeSource("s", bad))
    with pytest.raises(DataError, match=r"s: array x_test: expected uint8 \(3, 28, 28\), got uint8 \(3, 784\)"):
        fetch("mnist", cache_dir=tmp_path, log=tiny.log)


def test_dataset_is_frozen_with_short_repr(tiny, tmp_path):
    tiny.use_sources(FakeSource("s", tiny.arrays))
    ds = load("mnist", cache_dir=tmp_path)
    assert isinstance(ds, Dataset) and ds.name == "mnist"
    assert repr(ds) == "Dataset(name='mnist', train=6, test=3, source='s')"
    with pytest.raises(AttributeError):
        ds.name = "other"


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNZOO_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("RNNZOO_CACHE_DIR")
    assert default_cache_dir() == tmp_path / "xdg" / "rnnzoo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == Path(tmp_path / "home" / ".cache" / "rnnzoo")


def test_load_uses_default_cache_dir(tiny, monkeypatch, tmp_path):
    monkeypatch.setenv("RNNZOO_CACHE_DIR", str(tmp_path))
    tiny.use_sources(FakeSource("s", tiny.arrays))
    load("mnist")
    assert (tmp_path / "mnist" / "x_train.npy").is_file()


def test_rows():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    out = rows(images)
    assert out.dtype == np.float32 and out.shape == images.shape
    np.testing.assert_array_equal(out, images.astype(np.float32) / np.float32(255.0))
    assert out.min() == 0.0 and out.max() == 1.0


def test_rows_rejects_non_uint8():
    with pytest.raises(DataError, match="expected uint8 images, got float64"):
        rows(np.zeros((1, 28, 28)))
