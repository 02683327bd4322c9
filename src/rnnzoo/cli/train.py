"""`rnnzoo train CONFIG`: train one experiment (a preset or a TOML file) into a run folder."""

from datetime import datetime
from pathlib import Path

import argparse
import tomllib

from .. import process
from ..config import override
from ..lab import train
from .common import add_cache_dir, console, experiment_from


def add_parser(commands) -> None:
    parser = commands.add_parser("train", help="train one experiment (preset name or TOML file)")
    parser.add_argument("config", help="a preset (`rnnzoo presets` lists them) or an experiment .toml file")
    parser.add_argument("--out", metavar="DIR", help="run folder (default: runs/<name>-<time>)")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    existing.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    parser.add_argument("--checkpoint-every", type=float, default=5.0, metavar="MINUTES",
                        help="checkpoint every MINUTES (and at every epoch end; default %(default)s)")
    parser.add_argument("--epochs", type=int, help="override training.epochs")
    parser.add_argument("--seed", type=int, help="override training.seed")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", type=setting,
                        help="override any [data], [optimizer] or [training] key, e.g. --set data.length=1000 "
                             "(repeatable; VALUE is read as TOML, else as a string)")
    add_cache_dir(parser)
    parser.set_defaults(run=run)


def setting(text: str) -> tuple[str, object]:
    """'data.length=1000' -> ("data.length", 1000); a VALUE that isn't TOML stays a string."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE such as data.length=1000, got {text!r}")
    try:
        return key.strip(), tomllib.loads(f"value = {value}")["value"]
    except tomllib.TOMLDecodeError:
        return key.strip(), value


def run(args) -> int:
    process.tune_malloc()  # this process is ours: keep freed activations for the next step
    experiment = experiment_from(args.config)
    overrides = {f"training.{k}": v for k, v in (("epochs", args.epochs), ("seed", args.seed)) if v is not None}
    overrides.update(args.set)
    if overrides:  # validated again, so an override like --epochs 0 is refused as in a file
        experiment = override(experiment, overrides, "command line")
    if args.resume and not args.out:
        raise FileNotFoundError("--resume needs --out: the run folder to continue")
    out = Path(args.out or f"runs/{experiment.name}-{datetime.now():%Y%m%d-%H%M%S}")
    args.run_dir = out  # for the resume hint after Ctrl-C
    out_console = console()
    result = train(experiment, run_dir=out, cache_dir=args.cache_dir, console=out_console, resume=args.resume,
                   overwrite=args.overwrite, checkpoint_every_minutes=args.checkpoint_every)
    out_console.print(f"{result.headline()}; run written to {out}/")
    return 0
