"""Where each weight lives in a Keras HDF5 file, read and written by name only.

Two layouts exist. Keras 3 (model.weights.h5 inside a .keras archive, and `.weights.h5` files)
names a layer's group after its class, counted in order — `layers/lstm`, `layers/lstm_1`,
`layers/dense` — and numbers the variables in creation order:

    layers/lstm/cell/vars/0          kernel            (F, 4U)
    layers/lstm/cell/vars/1          recurrent_kernel  (U, 4U)
    layers/lstm/cell/vars/2          bias              (4U,)
    layers/bidirectional/forward_layer/cell/vars/0 ... and backward_layer/...
    layers/rnn/cell/cells/lstm_cell/vars/0 ...  an RNN of stacked cells, each named like a layer
    layers/dense/vars/0, vars/1      kernel, bias

Legacy full-model .h5 files (Keras 2, and Keras 3's `model.save("x.h5")`) keep a group per layer
*name* under `model_weights`, whose `weight_names` attribute lists its datasets in the same order
(`lstm/lstm_cell/kernel:0`, ...). rnnzoo's parameters already have Keras' shapes, so each weight
is copied as it is; only the names and the order are mapped here.

Only hard-linked float datasets of exactly the expected shape are read: no soft or external
links (which could point into another file), nothing sized by the file before it is checked.
"""

import h5py
import numpy as np
import torch

from ..layers import Bidirectional, Dense, Sequential, StackedRNNCells, TimeDistributed
from ..layers.layer import snake_case
from ..layers.rnn import RNN
from .configs import user_cell
from .errors import KerasFileError


def layer_variables(layer) -> list[tuple[str, str, torch.Tensor]]:
    """(path inside the layer's Keras 3 group, legacy weight name, parameter), in Keras' order."""
    if isinstance(layer, Bidirectional):
        return [(f"{side}/{path}", name, tensor)
                for side, inner in (("forward_layer", layer.forward_layer), ("backward_layer", layer.backward_layer))
                for path, name, tensor in layer_variables(inner)]
    if isinstance(layer, RNN):
        return cell_variables(layer.cell, "cell")
    if isinstance(layer, TimeDistributed):
        return [(f"layer/{path}", name, tensor) for path, name, tensor in layer_variables(layer.layer)]
    if isinstance(layer, Dense):
        named = [("kernel", layer.kernel), ("bias", layer.bias)]
        return [(f"vars/{i}", name, tensor) for i, (name, tensor) in enumerate(named) if tensor is not None]
    return []


def cell_variables(cell, prefix: str) -> list[tuple[str, str, torch.Tensor]]:
    """A cell's variables below `prefix`; a stack's cells each have a group of their own."""
    cell = user_cell(cell)
    if isinstance(cell, StackedRNNCells):
        return [variable for group, inner in zip(counted_names(cell.cells), cell.cells)
                for variable in cell_variables(inner, f"{prefix}/cells/{group}")]
    named = [("kernel", cell.kernel), ("recurrent_kernel", cell.recurrent_kernel), ("bias", cell.bias)]
    return [(f"{prefix}/vars/{i}", name, tensor) for i, (name, tensor) in enumerate(named) if tensor is not None]


def counted_names(objects) -> list[str]:
    """Keras 3's group names for a list of layers or cells: the class name in snake case, counted."""
    groups, seen = [], {}
    for item in objects:
        base = snake_case(type(item).__name__)
        groups.append(base if base not in seen else f"{base}_{seen[base] + 1}")
        seen[base] = seen.get(base, -1) + 1
    return groups


def keras3_groups(model: Sequential) -> list[str]:
    """Each layer's group in a Keras 3 weights file."""
    return counted_names(model.layers)


def empty_groups(layer) -> list[str]:
    """The variable groups Keras writes for `layer` even where they hold nothing: the layer's own,
    each Bidirectional side's, and a cell stack's."""
    if isinstance(layer, Bidirectional):
        return ["vars"] + [f"{side}/{group}" for side, inner in (("forward_layer", layer.forward_layer),
                                                                 ("backward_layer", layer.backward_layer))
                           for group in empty_groups(inner)]
    if isinstance(layer, RNN) and isinstance(user_cell(layer.cell), StackedRNNCells):
        return ["vars", "cell/vars"]
    if isinstance(layer, TimeDistributed):
        return ["vars"] + [f"layer/{group}" for group in empty_groups(layer.layer)]
    return ["vars"]


def read_keras3(file: h5py.File, model: Sequential, where: str) -> None:
    """Fill `model` from a Keras 3 weights file, refusing one made for another architecture."""
    expected = {}
    for group, layer in zip(keras3_groups(model), model.layers):
        for path, _, tensor in layer_variables(layer):
            expected[f"layers/{group}/{path}"] = (layer, tensor)
    layers = file.get("layers", getlink=True)  # other groups (the optimizer's state) are not read
    present = set(dataset_paths(file["layers"], where, "layers/")) if isinstance(layers, h5py.HardLink) else set()
    extra = sorted(present - set(expected))
    if extra:
        raise KerasFileError(f"{where}: weights of another architecture: the file has {extra[0]}, "
                             f"which model {model.name!r} lacks ({len(extra)} such)")
    for path, (layer, tensor) in expected.items():
        if path not in present:
            raise KerasFileError(f"{where}: weights of another architecture: layer {layer.name!r} needs {path}, "
                                 "which the file lacks")
        copy(file, path, tensor, f"{where}: layer {layer.name!r}")


def read_legacy(group: h5py.Group, model: Sequential, keras_names: list[str], where: str) -> None:
    """Fill `model` from a legacy layout: one group per Keras layer name, weights listed in order."""
    listed = [text(n) for n in group.attrs.get("layer_names", [])]
    for name, layer in zip(keras_names, model.layers):
        variables = layer_variables(layer)
        if not variables:
            continue
        if name not in listed or not isinstance(group.get(name, getlink=True), h5py.HardLink):
            raise KerasFileError(f"{where}: weights of another architecture: no weights for layer {name!r}")
        stored = [text(n) for n in group[name].attrs.get("weight_names", [])]
        if len(stored) != len(variables):
            raise KerasFileError(f"{where}: weights of another architecture: layer {name!r} has {len(stored)} "
                                 f"weights in the file, the model expects {len(variables)}")
        for stored_name, (_, keras_name, tensor) in zip(stored, variables):
            if stored_name.split("/")[-1].split(":")[0] != keras_name:
                raise KerasFileError(f"{where}: layer {name!r}: expected weight {keras_name!r}, found {stored_name!r}")
            copy(group[name], stored_name, tensor, f"{where}: layer {name!r}")
    for name in set(listed) - set(keras_names):
        if not isinstance(group.get(name, getlink=True), h5py.HardLink):
            continue
        if isinstance(group[name], h5py.Group) and len(group[name].attrs.get("weight_names", [])):
            raise KerasFileError(f"{where}: weights of another architecture: the file has weights for layer "
                                 f"{name!r}, which model {model.name!r} lacks")


def copy(group: h5py.Group, path: str, tensor: torch.Tensor, where: str) -> None:
    """Read the dataset at `path` (a hard link, floats, exactly tensor's shape) into `tensor`."""
    node = group
    for part in path.split("/"):  # each step a hard link: nothing reaches outside this file
        if not isinstance(node, h5py.Group) or not isinstance(node.get(part, getlink=True), h5py.HardLink):
            raise KerasFileError(f"{where}: {path} is missing or not a plain HDF5 dataset")
        node = node[part]
    if not isinstance(node, h5py.Dataset) or node.dtype.kind != "f" or node.external:
        raise KerasFileError(f"{where}: {path} is not an array of floats stored in the file")
    if tuple(node.shape) != tuple(tensor.shape):
        raise KerasFileError(f"{where}: weights of another architecture: {path} has shape {tuple(node.shape)}, "
                             f"expected {tuple(tensor.shape)}")
    values = np.asarray(node[()], dtype=np.float32)
    if not np.all(np.isfinite(values)):
        raise KerasFileError(f"{where}: {path} holds NaN or infinite values")
    with torch.no_grad():
        tensor.copy_(torch.from_numpy(values))


def dataset_paths(group: h5py.Group, where: str, prefix: str = "") -> list[str]:
    """Every dataset below `group`, following hard links only."""
    found = []
    for name in group:
        link = group.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise KerasFileError(f"{where}: {prefix}{name} is a {type(link).__name__}; only plain HDF5 entries are read")
        node = group[name]
        if isinstance(node, h5py.Group):
            found += dataset_paths(node, where, f"{prefix}{name}/")
        else:
            found.append(f"{prefix}{name}")
    return found


def write_keras3(file: h5py.File, model: Sequential) -> None:
    """Write `model`'s weights in the Keras 3 layout (every layer gets its group, as Keras writes)."""
    file.create_group("vars")
    for group, layer in zip(keras3_groups(model), model.layers):
        base = file.create_group(f"layers/{group}")
        for empty in empty_groups(layer):
            base.create_group(empty)
        for path, _, tensor in layer_variables(layer):
            base.create_dataset(path, data=tensor.detach().cpu().float().numpy())


def text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
