"""Entry point: registers the subcommands and turns errors into one-line messages and exit codes.

Exit codes: 0 success; 2 a usage or input error (bad flag, bad config, output already there);
1 a failure while running (data unavailable, disk full, ...); 130 interrupted. A traceback is shown
only with --debug.
"""

import argparse
import sys

from .. import __version__
from ..config import ConfigError
from ..lab import OutputExistsError
from ..training import CheckpointError, TrainingInterrupted
from ..keras_files import KerasFileError
from . import bench, data, evaluate, export_keras, import_keras, presets, reproduce, resume, study, summary, train

COMMANDS = (reproduce, train, resume, study, evaluate, summary, presets, data, bench, import_keras, export_keras)
USAGE_ERRORS = (ConfigError, OutputExistsError, CheckpointError, KerasFileError, FileNotFoundError,
                NotADirectoryError)


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (the usage itself is one --help away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="rnnzoo", description="Build, train and compare recurrent networks.")
    parser.add_argument("--version", action="version", version=f"rnnzoo {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # argparse itself exits 2 on bad usage
    try:
        return args.run(args) or 0
    except TrainingInterrupted as stop:  # the run saved itself at a step boundary
        print(f"rnnzoo: {stop}", file=sys.stderr)
        if getattr(args, "run_dir", None):
            print(f"rnnzoo: continue with: rnnzoo resume {args.run_dir}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("rnnzoo: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # one line for the user; the traceback on request
        if args.debug:
            raise
        usage = isinstance(error, USAGE_ERRORS)
        print(f"rnnzoo: error: {error}", file=sys.stderr)
        if not usage:
            print("rnnzoo: run again with --debug for the traceback", file=sys.stderr)
        return 2 if usage else 1


if __name__ == "__main__":
    sys.exit(main())
