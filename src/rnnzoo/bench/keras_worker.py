"""Keras-on-TensorFlow contender for `rnnzoo bench`, run as a separate process.

Standalone on purpose: it imports neither torch nor the rnnzoo package (only rnnzoo/process.py,
by path, which needs nothing but ctypes), so it runs under any Python that has TensorFlow (the
project's own with the `bench` extra, or another virtualenv given by --keras-python). It reads
one JSON command per line on stdin and answers one JSON line on stdout:

    {"cmd": "setup", "layers": [...], "batch": 64, "steps": 28, "features": 28, "classes": 10, "mallopt": true}
    {"cmd": "train", "n": 5}     -> {"times": [seconds per training step, ...]}
    {"cmd": "infer", "n": 5}     -> {"times": [seconds per inference batch, ...]}
    {"cmd": "memory"}            -> {"train_mb": ..., "infer_mb": ...}  peak RSS growth over setup

Layers are the preset dicts (`{"type": "LSTM", "units": 256, "activation": "relu", ...}`), built
with keras.layers.<type>(**options): the notebook's exact models. Training is `train_on_batch`
with Adam(1e-3) and SparseCategoricalCrossentropy(from_logits=True), as the notebook compiles it.
"""

import importlib.util
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def tune_malloc():  # rnnzoo.process.tune_malloc itself: the settings the torch contenders get
    spec = importlib.util.spec_from_file_location("rnnzoo_process", Path(__file__).parents[1] / "process.py")
    process = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(process)
    process.tune_malloc()


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak():  # Linux: VmHWM restarts from the current RSS
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_layer(keras, spec):
    spec = dict(spec)
    kind = spec.pop("type")
    if "layer" in spec:
        spec["layer"] = build_layer(keras, spec["layer"])
    return getattr(keras.layers, kind)(**spec)


def main():
    state = {}
    out = sys.stdout
    sys.stdout = sys.stderr  # keep TF's prints off the protocol channel
    for line in sys.stdin:
        command = json.loads(line)
        cmd = command["cmd"]
        if cmd == "setup":
            if command.get("mallopt"):
                tune_malloc()
            import numpy as np
            import tensorflow as tf
            from tensorflow import keras

            tf.random.set_seed(0)
            model = keras.Sequential([keras.Input(shape=(None, command["features"])),
                                      *[build_layer(keras, s) for s in command["layers"]]])
            model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          optimizer=keras.optimizers.Adam(learning_rate=0.001))
            rng = np.random.default_rng(0)
            x = rng.random((command["batch"], command["steps"], command["features"]), dtype=np.float32)
            y = rng.integers(0, command["classes"], command["batch"])
            model.predict_on_batch(x[:1, :2])  # load and trace first: not the model's memory
            model.train_on_batch(x[:1, :2], y[:1])
            state.update(model=model, x=x, y=y, rss0=rss_mb())
            # Inference, then training, each from a fresh peak.
            reset_peak()
            for _ in range(2):
                model.predict_on_batch(x)
            state["infer_mb"] = peak_mb() - state["rss0"]
            reset_peak()
            for _ in range(2):
                model.train_on_batch(x, y)
            state["train_mb"] = peak_mb() - state["rss0"]
            reply = {"ok": True, "tensorflow": tf.__version__, "keras": keras.__version__}
        elif cmd in ("train", "infer"):
            model, x, y = state["model"], state["x"], state["y"]
            times = []
            for _ in range(command["n"]):
                start = time.perf_counter()
                if cmd == "train":
                    model.train_on_batch(x, y)
                else:
                    model.predict_on_batch(x)
                times.append(time.perf_counter() - start)
            reply = {"times": times}
        elif cmd == "memory":
            reply = {"train_mb": state["train_mb"], "infer_mb": state["infer_mb"]}
        else:
            reply = {"error": f"unknown command {cmd!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
