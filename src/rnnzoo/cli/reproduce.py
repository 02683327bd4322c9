"""`rnnzoo reproduce`: train the notebook's three models and write the comparison report."""

from datetime import datetime
from pathlib import Path

from .. import process
from ..lab import reproduce
from ..presets import NOTEBOOK_MODELS
from .common import add_cache_dir, console


def add_parser(commands) -> None:
    parser = commands.add_parser("reproduce", help="reproduce the notebook's comparison (SimpleRNN, LSTM, GRU on MNIST)")
    parser.add_argument("--quick", action="store_true", help="same models on a subset: about a minute")
    parser.add_argument("--out", metavar="DIR", help="results folder (default: results/reproduce-<time>)")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true", help="replace results already in --out")
    existing.add_argument("--resume", action="store_true", help="continue an interrupted reproduction in --out")
    parser.add_argument("--models", default=",".join(NOTEBOOK_MODELS), help="comma-separated presets (default: %(default)s)")
    add_cache_dir(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    process.tune_malloc()  # this process is ours: keep freed activations for the next step
    if args.resume and not args.out:
        raise FileNotFoundError("--resume needs --out: the folder of the reproduction to continue")
    out = Path(args.out or f"results/reproduce-{datetime.now():%Y%m%d-%H%M%S}{'-quick' if args.quick else ''}")
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    args.run_dir = out  # for the resume hint after Ctrl-C
    out_console = console()
    reproduce(out, quick=args.quick, models=models, overwrite=args.overwrite, resume=args.resume,
              cache_dir=args.cache_dir, console=out_console)
    out_console.print(f"\n{(out / 'results.md').read_text()}")
    out_console.print(f"Results written to {out}/ (results.json, results.md, learning_curves.png, tradeoffs.png)")
    return 0
