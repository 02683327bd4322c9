"""Keras layer configs <-> rnnzoo layers: which Keras settings carry over, and what is refused.

A Keras model's config (config.json in a .keras archive, the model_config attribute of a legacy
.h5 file) lists its layers as `{"class_name": "LSTM", "config": {...}}`. Each supported layer
becomes a plain spec in the form rnnzoo's experiment files use, e.g.
`{"type": "LSTM", "name": "lstm", "units": 256, "return_sequences": True}`, so an imported model
is also a valid `[model]` table. Only data is read: a layer type, a flag or an activation rnnzoo
does not know is refused, never looked up or run.

Settings that only steer training (initialisers, regularisers, constraints, seeds) are dropped:
the weights come from the file.
"""

import re

from ..config import LayerSpec
from ..layers import Bidirectional, Input, Sequential, StackedRNNCells
from ..layers.activations import ACTIVATIONS, builtin_name
from ..layers.cells import KerasCell
from ..layers.registry import CELL_TYPES
from ..layers.rnn import RNN
from ..training.stateful import stateful_layers
from .errors import KerasFileError

RECURRENT_OPTIONS = ("units", "activation", "use_bias", "dropout", "recurrent_dropout",
                     "return_sequences", "go_backwards", "zero_output_for_mask", "stateful")
# The Keras config keys each layer type carries over (named the same in Keras and rnnzoo).
OPTIONS = {
    "SimpleRNN": RECURRENT_OPTIONS,
    "LSTM": (*RECURRENT_OPTIONS, "recurrent_activation", "unit_forget_bias"),
    "GRU": (*RECURRENT_OPTIONS, "recurrent_activation", "reset_after"),
    "RNN": ("return_sequences", "go_backwards", "zero_output_for_mask", "stateful"),  # and its cell
    "Dense": ("units", "activation", "use_bias"),
    "Dropout": ("rate",),
    "Activation": ("activation",),
    "Bidirectional": ("merge_mode",),  # and the wrapped layer
    "Masking": ("mask_value",),
    "TimeDistributed": (),  # the wrapped layer
}
SUPPORTED = ("InputLayer", *OPTIONS)
# An RNN's cell: one of these, or a StackedRNNCells of them.
CELL_OPTIONS = {
    "SimpleRNNCell": ("units", "activation", "use_bias", "dropout", "recurrent_dropout"),
    "LSTMCell": ("units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias", "dropout",
                 "recurrent_dropout"),
    "GRUCell": ("units", "activation", "recurrent_activation", "use_bias", "reset_after", "dropout",
                "recurrent_dropout"),
}
WRAPPED = {"Bidirectional": ("SimpleRNN", "LSTM", "GRU", "RNN"),  # what each wrapper may wrap
           "TimeDistributed": ("Dense", "Dropout", "Activation")}
# Settings rnnzoo cannot honour, and the value that is fine.
REFUSED = {
    "unroll": (False, "unroll=True"),
    "time_major": (False, "time_major=True"),
    "return_state": (False, "return_state=True inside a Sequential"),
    "noise_shape": (None, "Dropout with a noise_shape"),
}
ACTIVATION_KEYS = ("activation", "recurrent_activation")
FLOAT_KEYS = ("rate", "dropout", "recurrent_dropout", "mask_value")


def unsupported(what: str, where: str) -> KerasFileError:
    return KerasFileError(f"{where}: {what} can't be converted; rnnzoo supports {', '.join(SUPPORTED)} "
                          "with built-in activations, in a Sequential model")


def model_specs(config: dict, where: str) -> tuple[str, tuple, int | None, list[dict], list[str]]:
    """A Keras Sequential's config -> (model name, input shape (time, features), batch size or None,
    layer specs, Keras names).

    The Keras names are the layers' names as the file has them, in order: a legacy .h5 file
    finds each layer's weights under that name. A batch size is declared by stateful models.
    """
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        kind = config.get("class_name") if isinstance(config, dict) else type(config).__name__
        raise KerasFileError(f"{where}: the model is a {kind!r}; rnnzoo reads Sequential models only")
    _check_not_custom(config, where)
    body = _table(config.get("config"), f"{where}: model config")
    entries = body.get("layers")
    if not isinstance(entries, list):
        raise KerasFileError(f"{where}: the model config has no list of layers")
    input_shape, batch, specs, names = None, None, [], []
    for position, entry in enumerate(entries):
        entry = _table(entry, f"{where}: layer {position}")
        kind, settings = entry.get("class_name"), _table(entry.get("config", {}), f"{where}: layer {position}")
        shape = settings.get("batch_shape", settings.get("batch_input_shape"))
        if input_shape is None and shape is not None:
            batch, input_shape = _input_shape(shape, f"{where}: layer {settings.get('name', position)!r}")
        if kind == "InputLayer":
            continue
        specs.append(layer_spec(entry, f"{where}: layer {settings.get('name', position)!r}"))
        names.append(str(settings.get("name", "")))
    if input_shape is None:
        raise KerasFileError(f"{where}: the model declares no input shape; save it from a built model "
                             "(one with keras.Input(shape=(time, features)) first)")
    if not specs:
        raise KerasFileError(f"{where}: the model has no layers")
    return str(body.get("name") or "sequential"), input_shape, batch, specs, names


def layer_spec(entry: dict, where: str) -> dict:
    """One Keras layer entry -> an rnnzoo layer spec (refusing what can't be converted)."""
    _check_not_custom(entry, where)
    kind = entry.get("class_name")
    if kind not in OPTIONS:
        raise unsupported(f"layer type {kind!r}", where)
    settings = _table(entry.get("config", {}), where)
    for key, (fine, what) in REFUSED.items():
        if settings.get(key, fine) != fine:
            raise unsupported(what, where)
    spec = {"type": kind, "name": identifier(settings.get("name") or kind.lower())}
    for key in OPTIONS[kind]:
        if key in settings:
            spec[key] = _value(key, settings[key], where)
    if kind == "RNN":
        spec["cell"] = cell_spec(settings.get("cell"), f"{where}: cell")
    if kind == "TimeDistributed":
        spec["layer"] = layer_spec(_table(settings.get("layer"), f"{where}: wrapped layer"), f"{where}: wrapped layer")
        if spec["layer"]["type"] not in WRAPPED[kind]:
            raise unsupported(f"TimeDistributed around {spec['layer']['type']}", where)
    if kind == "Bidirectional":
        inner = _table(settings.get("layer"), f"{where}: wrapped layer")
        spec["layer"] = layer_spec(inner, f"{where}: wrapped layer")
        if spec["layer"]["type"] not in WRAPPED[kind]:
            raise unsupported(f"Bidirectional around {spec['layer']['type']}", where)
        spec["layer"]["name"] = spec["layer"]["name"].removeprefix("forward_")  # rnnzoo adds it back
        _check_mirror(spec["layer"], settings.get("backward_layer"), where)
    return spec


def cell_spec(entry, where: str) -> dict | list[dict]:
    """An RNN's cell entry -> a cell spec, or a list of them for a StackedRNNCells."""
    entry = _table(entry, where)
    _check_not_custom(entry, where)
    kind = entry.get("class_name")
    settings = _table(entry.get("config", {}), where)
    if kind == "StackedRNNCells":
        cells = settings.get("cells")
        if not isinstance(cells, list) or not cells:
            raise KerasFileError(f"{where}: a StackedRNNCells without a list of cells")
        return [cell_spec(cell, f"{where} {i}") for i, cell in enumerate(cells)]
    if kind not in CELL_OPTIONS:
        raise KerasFileError(f"{where}: cell type {kind!r} can't be converted; rnnzoo supports "
                             f"{', '.join(CELL_OPTIONS)} and a StackedRNNCells of them")
    spec = {"type": kind}
    for key in CELL_OPTIONS[kind]:
        if key in settings:
            spec[key] = _value(key, settings[key], where)
    return spec


def _check_mirror(forward: dict, backward, where: str) -> None:
    """rnnzoo's backward layer is the forward one reading the other way; refuse any other."""
    if backward is None:
        return
    mirrored = layer_spec(_table(backward, f"{where}: backward layer"), f"{where}: backward layer")
    same = lambda spec: {k: v for k, v in spec.items() if k not in ("name", "go_backwards")}
    if same(mirrored) != same(forward) or mirrored.get("go_backwards", False) == forward.get("go_backwards", False):
        raise unsupported("a backward_layer that is not the forward layer reversed", where)


def _value(key: str, value, where: str):
    if key in ACTIVATION_KEYS:
        if value is None:
            return "linear"
        if not isinstance(value, str) or value not in ACTIVATIONS:
            shown = value if isinstance(value, str) else "a custom function"
            raise unsupported(f"{key} {shown!r}", where)
        return value
    if key == "merge_mode":
        if value not in ("concat", "sum", "mul", "ave", None):
            raise unsupported(f"merge_mode {value!r}", where)
        return value
    if isinstance(value, bool) or (isinstance(value, (int, float)) and key in ("units", *FLOAT_KEYS)):
        return float(value) if key in FLOAT_KEYS else value
    raise KerasFileError(f"{where}: {key} must be a number or a boolean, got {value!r}")


def _check_not_custom(entry: dict, where: str) -> None:
    registered = entry.get("registered_name")
    module = entry.get("module")
    name = entry.get("class_name")
    if registered not in (None, name) or (module is not None and not str(module).startswith("keras")):
        raise unsupported(f"custom object {registered or name!r}", where)


def _input_shape(shape, where: str) -> tuple[int | None, tuple]:
    """(batch size or None, (time, features)) from a Keras batch shape."""
    if (not isinstance(shape, list) or len(shape) != 3
            or any(d is not None and (isinstance(d, bool) or not isinstance(d, int) or d <= 0) for d in shape)
            or shape[2] is None):
        raise KerasFileError(f"{where}: input shape must be (batch, time, features) with a fixed feature size, got {shape}")
    return shape[0], tuple(shape[1:])


def _table(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise KerasFileError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


def identifier(name) -> str:
    """A Keras layer name as an rnnzoo one: characters other than letters, digits, _ become _."""
    name = re.sub(r"\W", "_", str(name), flags=re.ASCII)
    return name if re.match(r"[A-Za-z_]", name) else f"_{name}"


def build(name: str, input_shape: tuple, specs: list[dict], where: str, batch: int | None = None) -> Sequential:
    """The rnnzoo Sequential of these specs (fresh weights), built as an experiment's layers are.
    Its stateful layers start from zero states of `batch` sequences, the batch size the Keras
    model declares, where rnnzoo's would take their first call's."""
    try:
        model = Sequential([Input(shape=input_shape), *(LayerSpec.from_dict(spec).build() for spec in specs)], name=name)
    except (ValueError, TypeError) as error:
        raise KerasFileError(f"{where}: {error}") from None
    if batch is not None:
        for layer in stateful_layers(model):
            layer.reset_state(layer.cell.initial_state(batch, next(layer.parameters())))
    return model


# -- rnnzoo -> Keras -------------------------------------------------------------------------------

def keras_model_config(model: Sequential, input_shape: tuple) -> dict:
    """The config.json Keras 3 rebuilds `model` from (Keras fills every setting left out)."""
    batch_shape = [stateful_batch(model), *input_shape]
    layers = [{"module": "keras.layers", "class_name": "InputLayer",
               "config": {"batch_shape": batch_shape, "dtype": "float32", "name": "input_layer"},
               "registered_name": None}]
    layers += [keras_layer_config(layer) for layer in model.layers]
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": model.name, "trainable": True, "dtype": "float32", "layers": layers},
            "build_config": {"input_shape": batch_shape}}


def stateful_batch(model: Sequential) -> int | None:
    """The batch size a Keras file declares for a stateful model (Keras fixes it in the input
    shape): that of the states the layers keep. None for a model without stateful layers."""
    stateful = stateful_layers(model)
    if not stateful:
        return None
    for layer in stateful:
        if layer.state_0.numel() == 0:
            raise KerasFileError(f"layer {layer.name!r} is stateful and has not run yet: a Keras file fixes "
                                 "the batch size, which an rnnzoo stateful layer takes from its first call; call "
                                 "the model on a batch (or reset_state(states)) first")
    sizes = {layer.name: layer.state_0.shape[0] for layer in stateful}
    if len(set(sizes.values())) > 1:
        kept = ", ".join(f"{name} {size}" for name, size in sizes.items())
        raise KerasFileError(f"the stateful layers keep states of different batch sizes ({kept}); a Keras file "
                             "declares one for the whole model: reset_state(states) them to one batch size first")
    return next(iter(sizes.values()))


def keras_layer_config(layer) -> dict:
    kind = type(layer).__name__
    if kind not in OPTIONS:
        raise KerasFileError(f"layer {layer.name!r}: {kind} has no Keras counterpart rnnzoo can write; "
                             f"supported: {', '.join(OPTIONS)}")
    arguments = layer.get_config()
    config = {"name": layer.name}
    for key in OPTIONS[kind]:
        value = arguments.get(key)
        if key in ACTIVATION_KEYS and not (value is None or isinstance(value, str)):
            raise KerasFileError(f"layer {layer.name!r}: {key} is a Python function; Keras files name "
                                 f"activations, expected one of {', '.join(sorted(ACTIVATIONS))}")
        config[key] = value
    if isinstance(layer, Bidirectional):
        config["layer"] = keras_layer_config(layer.forward_layer)
    if kind == "TimeDistributed":
        config["layer"] = keras_layer_config(layer.layer)
    if isinstance(layer, RNN) and layer.return_state:
        raise unsupported("return_state=True", f"layer {layer.name!r}")
    if kind == "RNN":
        config["cell"] = keras_cell_config(layer.cell, f"layer {layer.name!r}")
    return {"module": "keras.layers", "class_name": kind, "config": config, "registered_name": None}


def user_cell(cell):
    """The cell as the user gave it to RNN, which runs a stack (or a cell of the user's) in a KerasCell."""
    return cell.inner if isinstance(cell, KerasCell) else cell


def keras_cell_config(cell, where: str) -> dict:
    """An RNN's cell as Keras rebuilds it: rnnzoo's own cells, alone or stacked."""
    cell = user_cell(cell)
    if isinstance(cell, StackedRNNCells):
        cells = [keras_cell_config(inner, where) for inner in cell.cells]
        return {"module": "keras.layers", "class_name": "StackedRNNCells", "config": {"cells": cells},
                "registered_name": None}
    kind = type(cell).__name__
    if CELL_TYPES.get(kind) is not type(cell):
        raise KerasFileError(f"{where}: cell {kind} has no Keras counterpart rnnzoo can write; supported: "
                             f"{', '.join(CELL_OPTIONS)} and a list of them")
    config = {}
    for key in CELL_OPTIONS[kind]:
        value = getattr(cell, key)
        if key in ACTIVATION_KEYS:
            value = builtin_name(value)
            if value is None:
                raise KerasFileError(f"{where}: the cell's {key} is a Python function; Keras files name "
                                     f"activations, expected one of {', '.join(sorted(ACTIVATIONS))}")
        config[key] = value
    return {"module": "keras.layers", "class_name": kind, "config": config, "registered_name": None}

