"""The shipped experiments: the notebook's three models and the bidirectional one it promised."""

from importlib import resources

from ..config import ConfigError, Experiment, parse

import tomllib

PRESETS = ("simple_rnn", "lstm", "gru", "bilstm")
NOTEBOOK_MODELS = ("simple_rnn", "lstm", "gru")  # what `rnnzoo reproduce` trains


def load_preset(name: str) -> Experiment:
    """The experiment of a shipped preset, validated like any user config."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
    text = resources.files(__package__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return parse(tomllib.loads(text), f"preset {name}")


def preset(name: str):
    """The built (freshly initialised) model of a preset: maps (B, T, 28) floats to (B, 10) logits."""
    return load_preset(name).build_model()
