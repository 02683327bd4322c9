"""`rnnzoo study STUDY`: run a study (a shipped one's name or a TOML file) and write its report."""

import sys

from .. import process
from ..studies import SHIPPED, StudyError, run_study
from .common import add_cache_dir, console


def add_parser(commands) -> None:
    parser = commands.add_parser("study", help="run a grid of experiments × seeds and report the statistics")
    parser.add_argument("study", help=f"a shipped study ({', '.join(SHIPPED)}) or a study .toml file")
    parser.add_argument("--quick", action="store_true", help="the study's [quick] variant: fewer seeds, shorter runs")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: studies/<name>[-quick])")
    parser.add_argument("--workers", type=int, metavar="N", help="trials at a time (default: one per core)")
    parser.add_argument("--threads", type=int, metavar="K", help="torch threads per trial (default: 1, or cores / N)")
    parser.add_argument("--address", metavar="ADDR", help="run the trials on the Ray cluster at ADDR (e.g. 127.0.0.1:6379)")
    parser.add_argument("--resume", action="store_true", help="continue the study already in --out")
    parser.add_argument("--tensorboard", action="store_true", help="write TensorBoard event files in each trial folder")
    add_cache_dir(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    for flag in ("workers", "threads"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise StudyError(f"--{flag}: expected a positive integer, got {value}")
    process.tune_malloc()
    try:
        run_study(args.study, quick=args.quick, out=args.out, workers=args.workers, threads=args.threads,
                  address=args.address, resume=args.resume, tensorboard=args.tensorboard, cache_dir=args.cache_dir,
                  console=console())
    except KeyboardInterrupt:  # the running trials saved checkpoints; say how to go on
        again = " ".join(a for a in sys.argv[1:] if a != "--resume")
        print(f"rnnzoo: continue with: rnnzoo {again} --resume", file=sys.stderr)
        raise
    return 0
