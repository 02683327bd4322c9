"""Keras' own time for the notebook's work on this machine: one training epoch of each notebook model.

Run it with a Python that has TensorFlow (it does not import rnnzoo):

    /path/to/tf-python benchmarks/keras_epoch.py --data ~/.cache/rnnzoo/mnist --json keras_epoch.json

It reads the models from rnnzoo's presets (src/rnnzoo/presets/*.toml, the notebook's Keras code as
data), the MNIST arrays from rnnzoo's data cache (`rnnzoo data fetch` writes them), and trains
each model for `--epochs` epochs with the notebook's settings: batch 64, Adam(1e-3),
sparse cross-entropy from logits, inputs scaled to [0, 1]. (Keras 3's Adam has no `decay`; it does
not change the time.) It prints and writes the seconds per epoch, the number `rnnzoo reproduce`
is compared against in the README, and the test accuracy after the last epoch. Like rnnzoo's
training commands, it keeps freed memory in the heap (glibc's malloc thresholds, as in
src/rnnzoo/process.py) unless given --no-mallopt.
"""

import argparse
import importlib.util
import json
import time
import tomllib
from pathlib import Path

import numpy as np

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rnnzoo"
PRESETS = PACKAGE / "presets"
MODELS = ("simple_rnn", "lstm", "gru")


def build(keras, spec):
    spec = dict(spec)
    kind = spec.pop("type")
    return getattr(keras.layers, kind)(**spec)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path.home() / ".cache" / "rnnzoo" / "mnist")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-mallopt", action="store_true", help="leave glibc's malloc thresholds as they are")
    args = parser.parse_args()
    if not args.no_mallopt:  # rnnzoo.process.tune_malloc, loaded by path (it needs only ctypes)
        spec = importlib.util.spec_from_file_location("rnnzoo_process", PACKAGE / "process.py")
        process = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(process)
        process.tune_malloc()

    import tensorflow as tf
    from tensorflow import keras

    arrays = {name: np.load(args.data / f"{name}.npy") for name in ("x_train", "y_train", "x_test", "y_test")}
    x_train, x_test = (arrays[k].astype(np.float32) / 255.0 for k in ("x_train", "x_test"))
    results = {"tensorflow": tf.__version__, "keras": keras.__version__, "mallopt": not args.no_mallopt, "models": {}}
    for preset in MODELS:
        config = tomllib.loads((PRESETS / f"{preset}.toml").read_text())
        tf.random.set_seed(0)
        model = keras.Sequential([keras.Input(shape=(None, 28)), *[build(keras, s) for s in config["model"]["layers"]]])
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=keras.optimizers.Adam(learning_rate=config["optimizer"]["learning_rate"]),
                      metrics=["accuracy"])
        seconds = []
        for _ in range(args.epochs):
            start = time.perf_counter()
            model.fit(x_train, arrays["y_train"], batch_size=64, epochs=1, verbose=0)
            seconds.append(time.perf_counter() - start)
        _, accuracy = model.evaluate(x_test, arrays["y_test"], batch_size=64, verbose=0)
        results["models"][config["name"]] = {"seconds_per_epoch": seconds, "test_accuracy": accuracy,
                                             "params": model.count_params()}
        print(f"{config['name']:12} {model.count_params():>8,} params  {np.median(seconds):6.1f} s/epoch  "
              f"test accuracy {accuracy:.4f} after {args.epochs} epoch(s)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
