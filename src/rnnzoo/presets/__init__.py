"""The shipped experiments: the notebook's models, and one per (task, model) pair that studies compare.

The notebook's four keep their names (simple_rnn, lstm, gru, bilstm). The others are named
`<task>_<model>`, task in rows, pixels, permuted, adding, copy and model in simple_rnn, lstm, gru,
mingru, minlstm, transformer; on each task every model is sized to about the parameter count of
that task's LSTM(128) (each file's first line says how close).
"""

import tomllib
from importlib import resources

from ..config import ConfigError, Experiment, parse

NOTEBOOK_MODELS = ("simple_rnn", "lstm", "gru")  # what `rnnzoo reproduce` trains
PRESETS = tuple(sorted(path.name.removesuffix(".toml") for path in resources.files(__package__).iterdir()
                       if path.name.endswith(".toml")))


def load_preset(name: str) -> Experiment:
    """The experiment of a shipped preset, validated like any user config."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; `rnnzoo presets` lists them")
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return parse(tomllib.loads(text), f"preset {name}")


def preset(name: str):
    """The built (freshly initialised) model of a preset."""
    return load_preset(name).build_model()


def catalogue() -> list[dict]:
    """Every preset with its task and parameter count: what `rnnzoo presets` prints."""
    rows = []
    for name in PRESETS:
        experiment = load_preset(name)
        layers = " → ".join(_short(spec) for spec in experiment.model.layers)
        rows.append({"name": name, "task": str(experiment.task()), "params": experiment.build_model().count_params(),
                     "model": layers, "epochs": experiment.training.epochs})
    return rows


def _short(spec) -> str:
    """'LSTM(256, relu, seq)': the layer's size, activation and whether it returns sequences."""
    options = dict(spec.options)
    inside = [_short(options["layer"])] if "layer" in options else []
    cells = options.get("cell", ())
    inside += [_short(cell) for cell in (cells if isinstance(cells, tuple) else (cells,))]
    inside += [str(options[key]) for key in ("units", "rate", "activation") if key in options]
    inside += ["seq"] if options.get("return_sequences") else []
    return f"{spec.type}({', '.join(inside)})"
