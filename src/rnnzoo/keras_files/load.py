"""`load_keras`: a Keras model file -> an rnnzoo Sequential with the same weights and outputs."""

import json
from dataclasses import dataclass
from pathlib import Path

import h5py

from ..layers import Sequential
from . import configs, weights
from .archive import CONFIG, WEIGHTS, Archive
from .errors import KerasFileError

ZIP_MAGIC, HDF5_MAGIC = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"


def load_keras(path, model: Sequential | None = None) -> Sequential:
    """Load a Keras 3 `.keras` archive or a legacy full-model `.h5` file as an rnnzoo Sequential.

    The model is rebuilt from the file's config (layer names, activations, go_backwards,
    return_sequences, merge modes kept) and filled from its weights; it is returned in eval mode,
    as Keras' `predict` runs it. With `model=`, the weights of the file (a `.weights.h5` written
    by `model.save_weights`, or any of the above) are loaded into that model instead, after
    checking that they fit it. Loading runs no code from the file; anything rnnzoo can't rebuild
    exactly raises `KerasFileError` with one line naming it.
    """
    return read_keras(path, model).model


@dataclass
class KerasModel:
    """A loaded model and the specs it was built from (None when the caller gave the model)."""

    model: Sequential
    name: str
    input_shape: tuple
    specs: list[dict] | None


def read_keras(path, model: Sequential | None = None) -> KerasModel:
    """`load_keras`, also returning the model's layer specs (as experiment files write them)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with path.open("rb") as f:
        magic = f.read(8)
    if magic.startswith(ZIP_MAGIC[:2]):  # "PK": a zip, whole or truncated
        loaded = _load_archive(path, model)
    elif magic == HDF5_MAGIC:
        loaded = _load_hdf5(path, model)
    else:
        raise KerasFileError(f"{path}: neither a .keras archive (zip) nor an HDF5 file (.h5)")
    loaded.model.eval()
    return loaded


def _built(config: dict, path: Path, model: Sequential | None):
    """(model to fill, its description, Keras layer names) from a model config."""
    name, input_shape, batch, specs, keras_names = configs.model_specs(config, str(path))
    if model is not None:
        return model, KerasModel(model, model.name, infer_input(model), None), [l.name for l in model.layers]
    model = configs.build(name, input_shape, specs, str(path), batch)
    return model, KerasModel(model, name, input_shape, specs), keras_names


def _load_archive(path: Path, model: Sequential | None) -> KerasModel:
    archive = Archive(path)
    try:
        model, loaded, _ = _built(archive.json(CONFIG), path, model)
        data = archive.weights(model.count_params())
        with _open_hdf5(data, f"{path}: {WEIGHTS}") as file:
            _read(lambda: weights.read_keras3(file, model, str(path)), path)
        return loaded
    finally:
        archive.close()


def _load_hdf5(path: Path, model: Sequential | None) -> KerasModel:
    with _open_hdf5(path, str(path)) as file:
        if "model_config" in file.attrs:  # a legacy full model: config and weights by layer name
            model, loaded, keras_names = _built(_json_attribute(file.attrs["model_config"], path), path, model)
            _check_keras2_hard_sigmoid(file, loaded, path)
            if not isinstance(file.get("model_weights", getlink=True), h5py.HardLink):
                raise KerasFileError(f"{path}: a legacy .h5 model without a plain model_weights group")
            _read(lambda: weights.read_legacy(file["model_weights"], model, keras_names, str(path)), path)
            return loaded
        if model is None:
            raise KerasFileError(f"{path}: holds weights only, no model config; pass the model to fill: "
                                 "load_keras(path, model=...)")
        loaded = KerasModel(model, model.name, infer_input(model), None)
        if "layer_names" in file.attrs:  # a legacy weights file (Keras 2's save_weights)
            names = [layer.name for layer in model.layers]
            _read(lambda: weights.read_legacy(file, model, names, str(path)), path)
        else:
            _read(lambda: weights.read_keras3(file, model, str(path)), path)
        return loaded


def _check_keras2_hard_sigmoid(file: h5py.File, loaded: KerasModel, path: Path) -> None:
    """Keras 2's hard_sigmoid was clip(0.2x + 0.5, 0, 1); rnnzoo has Keras 3's relu6(x + 3) / 6."""
    version = weights.text(file.attrs.get("keras_version", "3"))
    if version.startswith(("1.", "2.")) and loaded.specs and "hard_sigmoid" in json.dumps(loaded.specs):
        raise KerasFileError(f"{path}: written by Keras {version}, whose hard_sigmoid differs from Keras 3's "
                             "(the one rnnzoo computes); re-save the model with Keras 3 or use sigmoid")


def _open_hdf5(source, where: str) -> h5py.File:
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as error:
        raise KerasFileError(f"{where}: not a readable HDF5 file: {str(error).splitlines()[0]}") from None


def _read(read, path: Path) -> None:
    """Run a weights read, turning HDF5's own errors (a damaged file) into one line."""
    try:
        read()
    except KerasFileError:
        raise
    except (OSError, KeyError, RuntimeError) as error:
        raise KerasFileError(f"{path}: damaged weights: {str(error).splitlines()[0]}") from None


def _json_attribute(value, path: Path) -> dict:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    try:
        return json.loads(str(value))
    except (json.JSONDecodeError, RecursionError) as error:
        raise KerasFileError(f"{path}: model_config is not valid JSON: {error}") from None


def infer_input(model: Sequential) -> tuple:
    """A Sequential's per-sample input shape: its Input, else the first layer's built feature size."""
    if model.input_shape is not None:
        return tuple(model.input_shape[1:])
    first = model.layers[0] if model.layers else None
    recurrent = getattr(first, "forward_layer", first)
    cell = getattr(recurrent, "cell", None)
    if cell is None or cell.input_dim is None:
        raise KerasFileError(f"model {model.name!r} has no Input and its first layer is not a built recurrent "
                             "layer; start it with Input(shape=(None, features))")
    return (None, cell.input_dim)

