"""`rnnzoo resume RUN_DIR`: continue an interrupted `train` or `reproduce` from its last checkpoint."""

import json
from pathlib import Path

from .. import process
from ..config import parse
from ..lab import reproduce, train
from .common import add_cache_dir, console


def add_parser(commands) -> None:
    parser = commands.add_parser("resume", help="continue an interrupted train or reproduce run")
    parser.add_argument("run_dir", help="the folder of the interrupted run")
    add_cache_dir(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    process.tune_malloc()  # this process is ours: keep freed activations for the next step
    folder = Path(args.run_dir)
    out_console = console()
    if (folder / "reproduce.json").is_file():
        plan = json.loads((folder / "reproduce.json").read_text())
        reproduce(folder, quick=plan["quick"], models=plan["models"], resume=True, cache_dir=args.cache_dir,
                  console=out_console)
        out_console.print(f"\n{(folder / 'results.md').read_text()}")
    elif (folder / "experiment.json").is_file():
        experiment = parse(json.loads((folder / "experiment.json").read_text()), str(folder / "experiment.json"))
        result = train(experiment, run_dir=folder, resume=True, cache_dir=args.cache_dir, console=out_console)
        out_console.print(f"{result.headline()}; run in {folder}/")
    else:
        raise FileNotFoundError(f"{folder} is not a run folder (no reproduce.json or experiment.json)")
    return 0
