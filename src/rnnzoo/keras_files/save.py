"""`save_keras`: an rnnzoo Sequential -> a Keras 3 `.keras` archive (or `.weights.h5` file).

The archive holds what Keras 3 writes: config.json (the model rebuilt from layer configs Keras
knows), metadata.json and model.weights.h5 in Keras 3's layout, so `keras.saving.load_model`
reads it back with the same outputs.
"""

import io
from datetime import datetime, timezone
from pathlib import Path

import h5py

from .. import __version__
from ..files import atomic_write
from ..lab.errors import OutputExistsError
from ..layers import Sequential
from . import archive, configs, weights
from .errors import KerasFileError
from .load import infer_input

KERAS_FORMAT = "3.0.0"  # the Keras version whose file format this follows (Keras reads it as such)


def save_keras(model: Sequential, path, overwrite: bool = True) -> Path:
    """Write `model` as a `.keras` archive, or only its weights if `path` ends in `.weights.h5`.

    The file is written whole or not at all; with overwrite=False an existing file is an error.
    """
    path = Path(path)
    if not isinstance(model, Sequential):
        raise TypeError(f"save_keras expects an rnnzoo Sequential, got {type(model).__name__}")
    if not path.name.endswith((".keras", ".weights.h5")):
        raise KerasFileError(f"{path}: expected a path ending in .keras (a model) or .weights.h5 (weights only)")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} already exists; pass --overwrite (overwrite=True) to replace it")
    config = configs.keras_model_config(model, infer_input(model))  # refuses what Keras can't rebuild
    unbuilt = [layer.name for layer in model.layers if not layer.built]
    if unbuilt:
        raise KerasFileError(f"layer {unbuilt[0]!r} has no weights yet; give the model an Input or call it once")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        weights.write_keras3(file, model)
    if path.name.endswith(".weights.h5"):
        atomic_write(path, buffer.getvalue())
    else:
        metadata = {"keras_version": KERAS_FORMAT, "saved_by": f"rnnzoo {__version__}",
                    "date_saved": datetime.now(timezone.utc).strftime("%Y-%m-%d@%H:%M:%S")}
        archive.write(path, config, metadata, buffer.getvalue())
    return path
