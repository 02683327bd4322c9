"""`rnnzoo export RUN_DIR MODEL.keras`: a run folder's model as a Keras 3 file."""

from ..keras_files import export_run
from .common import console


def add_parser(commands) -> None:
    parser = commands.add_parser("export", help="write a run folder's model as a Keras .keras (or .weights.h5) file")
    parser.add_argument("run_dir", help="a folder written by `rnnzoo train`, `reproduce` or `import`")
    parser.add_argument("model", help="the file to write: MODEL.keras, or MODEL.weights.h5 for the weights only")
    parser.add_argument("--overwrite", action="store_true", help="replace the file if it exists")
    parser.set_defaults(run=run)


def run(args) -> int:
    path = export_run(args.run_dir, args.model, overwrite=args.overwrite)
    console().print(f"wrote {path}")
    return 0
