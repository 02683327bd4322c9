"""Issue 16's check at full size: the notebook's models trained in Keras, loaded by rnnzoo, saved back.

Run it with a Python that has Keras 3 and rnnzoo (any backend; torch needs no TensorFlow):

    KERAS_BACKEND=torch /path/to/python benchmarks/keras_files_check.py [--json keras_files.json]

For each preset (the notebook's three models and the Bidirectional LSTM), it builds the model in
Keras from the preset's layers, trains it for one epoch (Adam, batch 64, logits loss) on the
committed MNIST subset (tests/data/mnist_subset.npz: 2,000 training images, so the epoch takes
seconds, not minutes), saves it as .keras and as legacy .h5, and then

    1. loads each file with rnnzoo.load_keras and compares its logits with Keras' own,
       on 100 test images at T = 28 (all rows) and T = 13 (the first 13 rows);
    2. saves the rnnzoo model with rnnzoo.save_keras, loads that with keras.saving.load_model,
       and compares Keras' logits from it with the original's.

The files (the LSTM alone is 3.3 MB) go to a temporary folder and are not kept. It prints the
largest absolute differences and exits 1 if any exceeds 1e-5.
"""

import argparse
import json
import os
import sys
import tempfile
import tomllib
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import rnnzoo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ("simple_rnn", "lstm", "gru", "bilstm")
TOLERANCE = 1e-5


def keras_layer(spec: dict):
    spec = dict(spec)
    kind = spec.pop("type")
    if "layer" in spec:
        spec["layer"] = keras_layer(spec["layer"])
    return getattr(keras.layers, kind)(**spec)


def keras_model(preset: str):
    config = tomllib.loads((ROOT / "src" / "rnnzoo" / "presets" / f"{preset}.toml").read_text())
    layers = [keras_layer(spec) for spec in config["model"]["layers"]]
    return keras.Sequential([keras.Input(shape=(None, 28)), *layers], name=config["name"])


def rnnzoo_logits(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with np.load(ROOT / "tests" / "data" / "mnist_subset.npz") as mnist:
        x_train, y_train = mnist["x_train"] / np.float32(255), mnist["y_train"]
        x_test = mnist["x_test"][:100] / np.float32(255)
    inputs = {28: x_test, 13: np.ascontiguousarray(x_test[:, :13])}
    results = {"keras": keras.__version__, "backend": keras.backend.backend(), "rnnzoo": rnnzoo.__version__,
               "train_examples": len(x_train), "models": {}}
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for preset in PRESETS:
            keras.utils.set_random_seed(0)
            model = keras_model(preset)
            model.compile(optimizer="adam", metrics=["accuracy"],
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)
            wanted = {steps: np.asarray(model.predict(x, verbose=0)) for steps, x in inputs.items()}
            row = {"params": model.count_params()}
            for suffix in ("keras", "h5"):
                path = Path(folder) / f"{preset}.{suffix}"
                model.save(path)
                loaded = rnnzoo.load_keras(path)
                for steps, x in inputs.items():
                    row[f"load {suffix} T={steps}"] = float(np.abs(rnnzoo_logits(loaded, x) - wanted[steps]).max())
                back = Path(folder) / f"{preset}-back-{suffix}.keras"
                rnnzoo.save_keras(loaded, back)
                reloaded = keras.saving.load_model(back)
                for steps, x in inputs.items():
                    row[f"save {suffix} T={steps}"] = float(np.abs(np.asarray(reloaded.predict(x, verbose=0)) - wanted[steps]).max())
            worst = max(worst, *(v for k, v in row.items() if k != "params"))
            results["models"][preset] = row
            print(f"{preset:11s} {row['params']:>9,} params  " +
                  "  ".join(f"{k}: {v:.1e}" for k, v in row.items() if k != "params"), flush=True)
    results["largest_difference"] = worst
    print(f"largest |logit difference|: {worst:.2e} (tolerance {TOLERANCE:.0e})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
