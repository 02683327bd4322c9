"""A study driver on the committed MNIST subset, as its own process (tests SIGKILL it):
`python driver.py STUDY OUT [--resume] [--quick] [--address ADDR] [--threads K] [--kill-after-first]`."""

import argparse
import os
import signal
from pathlib import Path

import numpy as np

from rnnzoo.data import Dataset
from rnnzoo.studies import run_study

SUBSET = Path(__file__).resolve().parents[1] / "data" / "mnist_subset.npz"


def subset() -> dict:
    with np.load(SUBSET, allow_pickle=False) as arrays:
        return {"mnist": Dataset("mnist", arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                                 str(SUBSET))}


class KilledAfterFirst:
    """A console that SIGKILLs this process as it reports the first finished trial. The tiny study's
    trials take tens of milliseconds on a fast CPU, so a test watching for result.json from outside
    could see all of them done before its kill landed; from here the kill comes before the driver
    hands out another trial."""

    def print(self, text, *args, **kwargs):
        if text.startswith("[1/"):
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":  # workers are spawned: they import this file, and must not run a study
    parser = argparse.ArgumentParser()
    parser.add_argument("study")
    parser.add_argument("out")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--address")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--kill-after-first", action="store_true")
    args = parser.parse_args()
    run_study(args.study, out=args.out, resume=args.resume, quick=args.quick, address=args.address,
              threads=args.threads, datasets=subset(), console=KilledAfterFirst() if args.kill_after_first else None)
