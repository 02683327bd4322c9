"""Pieces several subcommands share: resolving a model argument, the console, the cache flag."""

from pathlib import Path

from rich.console import Console

from ..config import ConfigError, Experiment, load
from ..presets import PRESETS, load_preset


def experiment_from(argument: str) -> Experiment:
    """A preset name (`lstm`) or the path of an experiment TOML file."""
    if argument in PRESETS:
        return load_preset(argument)
    path = Path(argument)
    if path.suffix == ".toml" or path.exists():
        return load(path)
    raise ConfigError(f"{argument!r} is neither a preset (`rnnzoo presets` lists them) nor a .toml file")


def console() -> Console:
    # Print Keras' tables and our lines as they are: no number colouring, no wrapping at 80 columns.
    return Console(highlight=False, soft_wrap=True)


def add_cache_dir(parser) -> None:
    parser.add_argument("--cache-dir", metavar="DIR",
                        help="data cache folder (default: $RNNZOO_CACHE_DIR, else $XDG_CACHE_HOME/rnnzoo or ~/.cache/rnnzoo)")
