"""A study driver on the committed MNIST subset, as its own process (tests SIGKILL it):
`python driver.py STUDY OUT [--resume] [--quick] [--address ADDR] [--threads K]`."""

import argparse
from pathlib import Path

import numpy as np

from rnnzoo.data import Dataset
from rnnzoo.studies import run_study

SUBSET = Path(__file__).resolve().parents[1] / "data" / "mnist_subset.npz"


def subset() -> dict:
    with np.load(SUBSET, allow_pickle=False) as arrays:
        return {"mnist": Dataset("mnist", arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                                 str(SUBSET))}


if __name__ == "__main__":  # workers are spawned: they import this file, and must not run a study
    parser = argparse.ArgumentParser()
    parser.add_argument("study")
    parser.add_argument("out")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--address")
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    run_study(args.study, out=args.out, resume=args.resume, quick=args.quick, address=args.address,
              threads=args.threads, datasets=subset())
