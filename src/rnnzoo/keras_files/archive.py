"""The .keras archive: a zip of config.json, metadata.json and model.weights.h5, read with care.

Nothing is extracted to disk and no entry is trusted: only those three names are accepted (a
name with `..`, a leading `/` or a backslash is refused, whatever it is), each entry's declared
size is bounded before it is read and the read itself stops at the bound, so a zip bomb costs a
few megabytes at most. The weights entry may be as large as the config's weights need in float64,
with an optimizer's state beside them, plus room for HDF5's own structure.
"""

import io
import json
import zipfile
from pathlib import Path

from ..files import atomic_open
from .errors import KerasFileError

CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
JSON_LIMIT = 16 * 2**20  # bytes: a config of thousands of layers is still well under a megabyte
BYTES_PER_PARAMETER = 32  # the most a weights entry may hold per parameter of the model's config
WEIGHTS_OVERHEAD = 16 * 2**20  # bytes of HDF5 structure allowed beyond that
OPTIONAL = ("assets/",)  # Keras writes an empty assets folder for some models


class Archive:
    """An open .keras archive whose entry names have been checked."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise KerasFileError(f"{path}: not a readable .keras archive (zip): {error}") from None
        self.entries = {}
        for info in infos:
            name = info.filename
            if name.startswith(("/", "\\")) or "\\" in name or ".." in name.split("/") or ":" in name:
                raise KerasFileError(f"{path}: unsafe entry name {name!r} in the archive (absolute or with '..')")
            if name in self.entries:
                raise KerasFileError(f"{path}: entry {name!r} appears twice in the archive")
            if name not in (CONFIG, METADATA, WEIGHTS) and not (name.startswith(OPTIONAL) and info.file_size == 0):
                raise KerasFileError(f"{path}: unexpected entry {name!r}; a .keras archive rnnzoo reads holds "
                                     f"{CONFIG}, {METADATA} and {WEIGHTS} only")
            self.entries[name] = info
        for name in (CONFIG, WEIGHTS):
            if name not in self.entries:
                raise KerasFileError(f"{path}: not a Keras 3 .keras archive: {name} is missing")

    def json(self, name: str) -> dict:
        data = self.read(name, JSON_LIMIT)
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
            raise KerasFileError(f"{self.path}: {name} is not valid JSON: {error}") from None

    def read(self, name: str, limit: int) -> bytes:
        """An entry's bytes, refused if it is (or turns out to be) larger than `limit`."""
        info = self.entries[name]
        if info.file_size > limit:
            raise KerasFileError(f"{self.path}: entry {name} declares {info.file_size:,} bytes, "
                                 f"more than the {limit:,} allowed")
        try:
            with self.zip.open(info) as entry:
                data = entry.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
            raise KerasFileError(f"{self.path}: entry {name} is damaged: {error}") from None
        if len(data) > limit:
            raise KerasFileError(f"{self.path}: entry {name} is larger than the {limit:,} bytes allowed")
        return data

    def weights(self, parameters: int) -> io.BytesIO:
        # float64 weights plus an optimizer's two moments (Adam's) take 24 bytes a parameter
        return io.BytesIO(self.read(WEIGHTS, BYTES_PER_PARAMETER * parameters + WEIGHTS_OVERHEAD))

    def close(self) -> None:
        self.zip.close()


def write(path: Path, config: dict, metadata: dict, weights: bytes) -> None:
    """Write a .keras archive whole or not at all (entries stored, as Keras stores them)."""
    with atomic_open(path) as out, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(METADATA, json.dumps(metadata))
        archive.writestr(CONFIG, json.dumps(config))
        archive.writestr(WEIGHTS, weights)
