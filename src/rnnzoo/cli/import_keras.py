"""`rnnzoo import MODEL.keras --out RUN_DIR`: a Keras model file as a run folder."""

from ..keras_files import import_run
from .common import console


def add_parser(commands) -> None:
    parser = commands.add_parser("import", help="turn a Keras .keras or .h5 model into a run folder")
    parser.add_argument("model", help="a Keras 3 .keras archive or a legacy full-model .h5 file")
    parser.add_argument("--out", metavar="RUN_DIR", required=True, help="the run folder to write")
    parser.add_argument("--dataset", default="mnist", help="the data set `rnnzoo evaluate` tests it on (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace a run already in --out")
    parser.set_defaults(run=run)


def run(args) -> int:
    experiment = import_run(args.model, args.out, dataset=args.dataset, overwrite=args.overwrite)
    console().print(f"imported {experiment.name} ({len(experiment.model.layers)} layers) into {args.out}/")
    return 0
