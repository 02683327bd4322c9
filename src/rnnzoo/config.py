"""Experiments as data: a TOML file validated into frozen dataclasses.

    name = "LSTMs"
    [model]
    input = [28]                      # per-step features; time steps are free
    layers = [
      { type = "LSTM", units = 256, return_sequences = true, activation = "relu" },
      { type = "Dropout", rate = 0.2 },
      { type = "Dense", units = 10, name = "output_layer" },
    ]
    [data]
    dataset = "mnist"
    [optimizer]
    learning_rate = 1e-3
    decay = 1e-5
    [training]
    batch_size = 64
    epochs = 10
    seed = 0

Every error names the key that is wrong, what was expected and what arrived, e.g.
`lstm.toml: model.layers[0].units: expected a positive integer, got 0`.
"""

import difflib
import math
import inspect
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .layers.registry import CELL_TYPES, LAYER_TYPES


class ConfigError(ValueError):
    """A config that can't be used; the message starts with the file and key at fault."""


@dataclass(frozen=True)
class LayerSpec:
    """One entry of `model.layers`: a layer type from the registry and its constructor arguments.
    A value may be a LayerSpec itself (Bidirectional's `layer`, an RNN's `cell`) or a tuple of them
    (an RNN's stacked cells): each build makes them anew."""

    type: str
    options: tuple[tuple[str, Any], ...] = ()  # (key, value) pairs: a frozen stand-in for a dict

    def kwargs(self) -> dict:
        return {k: _nested(v, LayerSpec.build) for k, v in self.options}

    def build(self):
        return {**LAYER_TYPES, **CELL_TYPES}[self.type](**self.kwargs())

    def to_dict(self) -> dict:
        return {"type": self.type, **{k: _nested(v, LayerSpec.to_dict) for k, v in self.options}}

    @classmethod
    def from_dict(cls, table: dict) -> "LayerSpec":
        """The inverse of to_dict, for a table already checked (parse() checks the ones users write)."""
        def value(v):
            if isinstance(v, dict):
                return cls.from_dict(v)
            if isinstance(v, list) and v and all(isinstance(item, dict) for item in v):
                return tuple(cls.from_dict(item) for item in v)
            return v

        return cls(table["type"], tuple((k, value(v)) for k, v in table.items() if k != "type"))


def _nested(value, method):
    """method applied to a LayerSpec value, or to each of a tuple of them; any other value as it is."""
    if isinstance(value, LayerSpec):
        return method(value)
    if isinstance(value, tuple) and value and all(isinstance(v, LayerSpec) for v in value):
        return [method(v) for v in value]
    return value


@dataclass(frozen=True)
class ModelConfig:
    """`[model]`: the layers of a Sequential, in order, and the per-sample input shape."""

    layers: tuple[LayerSpec, ...]
    input: tuple[int | None, ...] = (None, 28)  # (time, features) per sample; None = any


@dataclass(frozen=True)
class DataConfig:
    """`[data]`: the task (a name in `rnnzoo.tasks.TASKS`), its settings, and how many examples to use."""

    dataset: str = "mnist"
    view: str | None = None  # mnist, fashion_mnist: "rows" (default), "pixels" or "permuted_pixels"
    length: int | None = None  # adding, copy: the sequence length T
    train_limit: int | None = None  # the first N training / test examples (generated tasks: how many)
    test_limit: int | None = None
    window: int | None = None  # read each example in windows of this many steps (stateful models, TBPTT)

    def task(self):
        """The `rnnzoo.tasks.Task` these settings name."""
        from . import tasks

        return tasks.task(self.dataset, view=self.view, length=self.length)


@dataclass(frozen=True)
class OptimizerConfig:
    """Keras' Adam; `decay` is the legacy inverse-time decay lr / (1 + decay · iterations)."""

    type: str = "adam"
    learning_rate: float = 1e-3
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7  # Keras' default, not torch's 1e-8
    decay: float = 0.0
    clipnorm: float | None = None
    clipvalue: float | None = None


@dataclass(frozen=True)
class TrainingConfig:
    """`[training]`: Keras' fit settings; `seed` fixes the weights, the shuffles and the dropout masks."""

    batch_size: int = 64
    epochs: int = 10
    seed: int = 0


@dataclass(frozen=True)
class Experiment:
    """A whole experiment file, validated: what `load` and `parse` return and `rnnzoo.train` runs."""

    name: str
    model: ModelConfig
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    notes: str = ""

    def task(self):
        return self.data.task()

    def build_model(self):
        """The model this experiment trains, freshly initialised from torch's current RNG."""
        from .layers import Input, Sequential

        return Sequential([Input(shape=self.model.input), *(s.build() for s in self.model.layers)], name=self.name)

    def to_dict(self) -> dict:
        """A plain-data form (JSON-ready) of the whole experiment, for results files."""
        section = lambda obj: {f.name: getattr(obj, f.name) for f in fields(obj)}
        return {
            "name": self.name,
            "notes": self.notes,
            "model": {"input": [d for d in self.model.input if d is not None], "layers": [s.to_dict() for s in self.model.layers]},
            "data": section(self.data),
            "optimizer": section(self.optimizer),
            "training": section(self.training),
        }


# -- validation ----------------------------------------------------------------------------------

def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(value) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(
        type(value), type(value).__name__)


def _check_keys(table: dict, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}{key}: unknown key{_did_you_mean(key, allowed)}; expected one of {', '.join(allowed)}")


def _section(table: Any, cls, where: str):
    """Validate a TOML table against a dataclass's fields and their annotated types."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where.rstrip('.')}: expected a table, got {_type_name(table)}")
    names = [f.name for f in fields(cls)]
    _check_keys(table, names, where)
    values = {}
    for f in fields(cls):
        if f.name not in table:
            continue
        value = table[f.name]
        if value is None and "None" in str(f.type):  # JSON's null for an optional setting
            continue
        allowed = {"int": (int,), "float": (float, int), "str": (str,)}
        kinds = [k for k in allowed if k in str(f.type)]
        if isinstance(value, bool) or not isinstance(value, tuple(t for k in kinds for t in allowed[k])):
            raise ConfigError(f"{where}{f.name}: expected {' or '.join(kinds)}, got {_type_name(value)} {value!r}")
        values[f.name] = float(value) if kinds == ["float"] else value
    return cls(**values)


def _positive(value, key: str, allow_none=False, zero=False):
    if value is None and allow_none:
        return
    if value is None or not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        raise ConfigError(f"{key}: expected a finite {'non-negative' if zero else 'positive'} number, got {value!r}")


def constructor_parameters(cls) -> dict[str, inspect.Parameter]:
    """The named arguments cls(...) takes: its __init__'s, and where that passes **kwargs on to the
    parent's (LSTMCell's **weight_options), the parent's too."""
    parameters = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        own = inspect.signature(klass.__init__).parameters
        parameters |= {name: p for name, p in own.items() if name not in parameters and name != "self"
                       and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind == p.VAR_KEYWORD for p in own.values()):
            break
    return parameters


def _layer(table: Any, where: str, types: dict = LAYER_TYPES) -> LayerSpec:
    what = "cell" if types is CELL_TYPES else "layer"
    if not isinstance(table, dict):
        example = '{ type = "LSTMCell", units = 64 }' if what == "cell" else '{ type = "LSTM", units = 256 }'
        raise ConfigError(f"{where}: expected a table like {example}, got {_type_name(table)}")
    kind = table.get("type")
    if kind not in types:
        raise ConfigError(f"{where}.type: unknown {what} type {kind!r}{_did_you_mean(str(kind), types)}; "
                          f"expected one of {', '.join(types)}")
    cls = types[kind]
    parameters = constructor_parameters(cls)
    accepted = [p for p in parameters if p not in ("backward_layer", "input_dim")]
    options = {k: v for k, v in table.items() if k != "type"}
    _check_keys(options, accepted, f"{where}.")
    for key, value in options.items():
        default = parameters[key].default
        if key == "layer":
            options[key] = _layer(value, f"{where}.layer")
        elif key == "cell":  # RNN: a cell table, or an array of them (stacked)
            if isinstance(value, list) and value:
                options[key] = tuple(_layer(v, f"{where}.cell[{i}]", CELL_TYPES) for i, v in enumerate(value))
            elif isinstance(value, dict):
                options[key] = _layer(value, f"{where}.cell", CELL_TYPES)
            else:
                raise ConfigError(f"{where}.cell: expected a cell table like {{ type = \"LSTMCell\", units = 64 }} "
                                  f"or a non-empty array of them, got {_type_name(value)} {value!r}")
        elif default is not inspect.Parameter.empty and default is not None and not isinstance(default, str):
            ok = isinstance(value, type(default)) and not (isinstance(value, bool) != isinstance(default, bool))
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                ok, options[key] = True, float(value)
            if not ok:
                raise ConfigError(f"{where}.{key}: expected {_type_name(default)}, got {_type_name(value)} {value!r}")
        elif key.endswith(("_regularizer", "_constraint")):
            if not isinstance(value, (str, dict)):  # checked by the layer (regularizers.get, constraints.get)
                raise ConfigError(f"{where}.{key}: expected a name or a table, got {_type_name(value)} {value!r}")
        elif not isinstance(value, (str, int, float, bool)):
            raise ConfigError(f"{where}.{key}: expected a string or number, got {_type_name(value)}")
    spec = LayerSpec(kind, tuple(options.items()))
    try:  # the layer's own checks (units > 0, rates in [0, 1), known activations, ...)
        spec.build()
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{where}: {error}") from None
    return spec


def parse(data: dict, source: str = "<config>") -> Experiment:
    """Validate an experiment given as a dict (as TOML parses it)."""
    where = f"{source}: "
    _check_keys(data, ["name", "notes", "model", "data", "optimizer", "training"], where)
    name = data.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(f"{where}name: expected an identifier-like string such as \"LSTMs\", got {name!r}")
    model = data.get("model")
    if not isinstance(model, dict) or "layers" not in model:
        raise ConfigError(f"{where}model.layers: missing; expected an array of layer tables")
    _check_keys(model, ["input", "layers"], f"{where}model.")
    shape = model.get("input", [28])
    if (not isinstance(shape, list) or len(shape) not in (1, 2)
            or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in shape)):
        raise ConfigError(f"{where}model.input: expected [features] or [time, features] of positive integers, got {shape!r}")
    layers = model["layers"]
    if not isinstance(layers, list) or not layers:
        raise ConfigError(f"{where}model.layers: expected a non-empty array of layer tables, got {layers!r}")
    specs = tuple(_layer(layer, f"{where}model.layers[{i}]") for i, layer in enumerate(layers))
    data_config = _section(data.get("data", {}), DataConfig, f"{where}data.")
    optimizer = _section(data.get("optimizer", {}), OptimizerConfig, f"{where}optimizer.")
    training = _section(data.get("training", {}), TrainingConfig, f"{where}training.")
    from .tasks import TASKS, TaskError

    if data_config.dataset not in TASKS:
        raise ConfigError(f"{where}data.dataset: unknown data set {data_config.dataset!r}"
                          f"{_did_you_mean(data_config.dataset, TASKS)}; expected one of {', '.join(TASKS)}")
    try:
        task = data_config.task()
    except TaskError as error:
        raise ConfigError(f"{where}{error}") from None
    _positive(data_config.train_limit, f"{where}data.train_limit", allow_none=True)
    _positive(data_config.test_limit, f"{where}data.test_limit", allow_none=True)
    if optimizer.type != "adam":
        raise ConfigError(f"{where}optimizer.type: expected \"adam\", got {optimizer.type!r}")
    _positive(optimizer.learning_rate, f"{where}optimizer.learning_rate")
    _positive(optimizer.epsilon, f"{where}optimizer.epsilon")
    _positive(optimizer.decay, f"{where}optimizer.decay", zero=True)
    _positive(optimizer.clipnorm, f"{where}optimizer.clipnorm", allow_none=True)
    _positive(optimizer.clipvalue, f"{where}optimizer.clipvalue", allow_none=True)
    for beta in ("beta_1", "beta_2"):
        if not 0.0 <= getattr(optimizer, beta) < 1.0:
            raise ConfigError(f"{where}optimizer.{beta}: expected a number in [0, 1), got {getattr(optimizer, beta)}")
    _positive(training.batch_size, f"{where}training.batch_size")
    _positive(training.epochs, f"{where}training.epochs")
    _positive(data_config.window, f"{where}data.window", allow_none=True)
    steps = data_config.window or task.steps  # what the model reads in one call
    if data_config.window and task.steps % data_config.window:
        raise ConfigError(f"{where}data.window: expected a divisor of the {task.steps} steps of {task}, "
                          f"got {data_config.window}")
    if shape[-1] != task.features or (len(shape) == 2 and shape[0] != steps):
        expected = f"[{task.features}] or [{steps}, {task.features}]"
        raise ConfigError(f"{where}model.input: expected {expected} for {task} ({steps} steps of "
                          f"{task.features} features{' per window' if data_config.window else ''}), got {shape!r}")
    input_shape = (None, *shape) if len(shape) == 1 else tuple(shape)
    experiment = Experiment(name, ModelConfig(specs, input_shape), data_config, optimizer, training, data.get("notes", ""))
    try:  # the layers must also fit together (e.g. no return_state inside a Sequential)
        model = experiment.build_model()
    except (ValueError, TypeError) as error:
        raise ConfigError(f"{where}model.layers: {error}") from None
    _check_output(model, task, input_shape[0] or min(steps, 2), f"{where}model.layers")
    return experiment


def _check_output(model, task, steps: int, where: str) -> None:
    """The model's output for one sequence of `steps` must have the shape the task's objective reads."""
    import torch

    from .training import ObjectiveError

    with torch.no_grad():
        shape = tuple(model.eval()(torch.zeros(1, steps, task.features)).shape)
    try:
        task.objective.check_output_shape(shape, steps)
    except ObjectiveError as error:
        raise ConfigError(f"{where}: {task} {error}") from None


def override(experiment: Experiment, settings: dict[str, Any], source: str = "override") -> Experiment:
    """The experiment with dotted keys replaced, e.g. {"data.length": 1000, "training.epochs": 3},
    validated again like a file (so {"training.epochs": 0} is refused naming the key)."""
    data = experiment.to_dict()
    for key, value in settings.items():
        section, _, name = key.partition(".")
        if section not in ("data", "optimizer", "training") or not name:
            raise ConfigError(f"{source}: {key}: expected a key like data.length, optimizer.learning_rate "
                              "or training.epochs")
        data[section][name] = value
    return parse(data, source)


def load(path: str | Path) -> Experiment:
    """Read and validate an experiment TOML file."""
    return parse(read_toml(path), str(path))


def read_toml(path: str | Path, error: type[ConfigError] = ConfigError, missing: str = "no such file") -> dict:
    """The TOML file at `path` as a dict; `error` with a one-line message naming the file if it can't be."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except (OSError, UnicodeDecodeError) as reason:
        raise error(f"{path}: cannot read: {reason}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as reason:
        raise error(f"{path}: TOML syntax error: {reason}") from None
