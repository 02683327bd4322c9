"""Writes the Keras files the keras_files tests read: small real models saved by Keras 3, the
logits Keras computed for them (expected.npz), and a corpus of files rnnzoo must refuse (bad/).

Not part of the test run (it needs Keras); rerun by hand in an environment with Keras 3 and h5py:

    KERAS_BACKEND=torch python tests/keras_files/make_keras_files.py

Every model is tiny (F = 4 features, a few units) and gets random weights (not Keras' initial
zeros biases), so a misplaced gate or bias shows in the logits. Each is saved as a .keras archive
and as a legacy full-model .h5 file; its logits are recorded at two lengths, T = 6 and T = 3.
"""

import io
import json
import os
import zipfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

HERE = Path(__file__).parent
GOOD, BAD = HERE / "models", HERE / "bad"
F, B = 4, 3
LENGTHS = (6, 3)
rng = np.random.default_rng(0)


def models() -> dict:
    return {
        "simple_rnn": [layers.SimpleRNN(3, activation="relu", return_sequences=True, name="hidden1"),
                       layers.SimpleRNN(3, go_backwards=True, name="hidden2"), layers.Dense(2, name="output_layer")],
        "lstm": [layers.LSTM(3, activation="relu", return_sequences=True), layers.Dropout(0.2),
                 layers.LSTM(3, recurrent_activation="hard_sigmoid", go_backwards=True), layers.Dropout(0.2),
                 layers.Dense(2, activation="softmax")],
        "gru": [layers.GRU(3, activation="relu", return_sequences=True), layers.Dropout(0.3),
                layers.GRU(2, use_bias=False), layers.Dense(2), layers.Activation("tanh")],
        "gru_reset_before": [layers.GRU(3, reset_after=False, return_sequences=True, go_backwards=True),
                             layers.GRU(2, reset_after=False, activation="sigmoid"), layers.Dense(2, use_bias=False)],
        "bidirectional": [layers.Bidirectional(layers.LSTM(3, return_sequences=True)),
                          layers.Bidirectional(layers.GRU(2, return_sequences=True), merge_mode="sum"),
                          layers.Bidirectional(layers.SimpleRNN(2, return_sequences=True), merge_mode="mul"),
                          layers.Bidirectional(layers.GRU(2, reset_after=False), merge_mode="ave"),
                          layers.Dense(2)],
        "bidirectional_sequences": [layers.Bidirectional(layers.LSTM(2, return_sequences=True), merge_mode="concat"),
                                    layers.Dense(2, activation="relu")],
        "bidirectional_pair": [layers.Bidirectional(layers.GRU(2), merge_mode=None)],  # outputs (forward, backward)
    }


def cell_and_mask_models() -> dict:
    """Keras' RNN(cell) (single cells, stacks, one inside a Bidirectional), and a model whose
    Masking layer marks padded steps (its inputs get padding: see save_model)."""
    return {
        "rnn_cells": [layers.RNN(layers.LSTMCell(3), return_sequences=True),
                      layers.RNN([layers.GRUCell(3, reset_after=False), layers.SimpleRNNCell(2, activation="relu")],
                                 return_sequences=True, go_backwards=True),
                      layers.RNN([layers.LSTMCell(2), layers.LSTMCell(2, recurrent_activation="hard_sigmoid")]),
                      layers.Dense(2)],
        "bidirectional_cells": [layers.Bidirectional(layers.RNN(layers.GRUCell(2), return_sequences=True)),
                                layers.Dense(2)],
        "masking": [layers.Masking(mask_value=0.5), layers.LSTM(3, return_sequences=True),
                    layers.Bidirectional(layers.GRU(2, return_sequences=True)), layers.TimeDistributed(layers.Dense(3)),
                    layers.SimpleRNN(2, return_sequences=True, zero_output_for_mask=True), layers.GRU(2),
                    layers.Dense(2)],
    }


def stateful_models() -> dict:
    """Layers that carry their state from one batch to the next (Keras fixes the batch size)."""
    return {
        "stateful": [layers.LSTM(3, stateful=True, return_sequences=True),
                     layers.Bidirectional(layers.SimpleRNN(2, stateful=True, return_sequences=True)),
                     layers.RNN(layers.GRUCell(2), stateful=True), layers.Dense(2)],
    }


def randomize(model, generator=rng) -> None:
    model.set_weights([generator.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()])


def save_model(name: str, stack: list, generator, expected: dict) -> None:
    """`stack` as a Sequential with random weights, saved in both formats, its logits in `expected`."""
    model = keras.Sequential([keras.Input(shape=(None, F)), *stack], name=name)
    randomize(model, generator)
    model.save(GOOD / f"{name}.keras")
    model.save(GOOD / f"{name}.h5")  # the legacy full-model format
    for steps in LENGTHS:
        x = generator.normal(size=(B, steps, F)).astype("float32")
        if isinstance(stack[0], layers.Masking):  # sequence b ends in b padded steps
            for b in range(B):
                x[b, steps - b:] = stack[0].mask_value
        expected[f"{name}/x{steps}"] = x
        expected[f"{name}/logits{steps}"] = np.asarray(model.predict(x, verbose=0))  # a pair is stacked


def save_stateful(name: str, stack: list, generator, expected: dict) -> None:
    """A stateful model, saved in both formats, and its logits on two batches in a row: the second
    starts from the states the first left."""
    model = keras.Sequential([keras.Input(batch_shape=(B, None, F)), *stack], name=name)
    randomize(model, generator)
    model.save(GOOD / f"{name}.keras")
    model.save(GOOD / f"{name}.h5")
    for call, steps in enumerate(LENGTHS, 1):
        x = generator.normal(size=(B, steps, F)).astype("float32")
        expected[f"{name}/batch{call}"] = x
        expected[f"{name}/logits{call}"] = keras.ops.convert_to_numpy(model(x, training=False))


def make_good() -> None:
    GOOD.mkdir(exist_ok=True)
    expected = {"keras_version": np.array(keras.__version__)}
    for name, stack in models().items():
        save_model(name, stack, rng, expected)
    # A model with a fixed number of steps, and its weights alone (model.save_weights).
    fixed = keras.Sequential([keras.Input(shape=(5, F)), layers.LSTM(2), layers.Dense(2)], name="fixed_steps")
    randomize(fixed)
    fixed.save(GOOD / "fixed_steps.keras")
    fixed.save_weights(GOOD / "fixed_steps.weights.h5")
    x = rng.normal(size=(B, 5, F)).astype("float32")
    expected["fixed_steps/x5"], expected["fixed_steps/logits5"] = x, np.asarray(fixed.predict(x, verbose=0))
    # A small MNIST model trained for one epoch on the committed subset, for `rnnzoo import` and
    # `rnnzoo evaluate` to reproduce Keras' own test loss and accuracy.
    with np.load(HERE.parent / "data" / "mnist_subset.npz") as mnist:
        x_train, y_train = mnist["x_train"] / np.float32(255), mnist["y_train"]
        x_test, y_test = mnist["x_test"] / np.float32(255), mnist["y_test"]
    keras.utils.set_random_seed(0)
    digits = keras.Sequential([keras.Input(shape=(None, 28)), layers.GRU(8), layers.Dense(10)], name="mnist_gru")
    digits.compile(optimizer="adam", metrics=["accuracy"],
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    digits.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)
    digits.save(GOOD / "mnist_gru.keras")
    loss, accuracy = digits.evaluate(x_test, y_test, batch_size=64, verbose=0)
    expected["mnist_gru/test_loss"], expected["mnist_gru/test_accuracy"] = np.array(loss), np.array(accuracy)
    cells = np.random.default_rng(1)  # a generator of their own: the draws above don't depend on these
    for name, stack in cell_and_mask_models().items():
        save_model(name, stack, cells, expected)
    stateful = np.random.default_rng(2)
    for name, stack in stateful_models().items():
        save_stateful(name, stack, stateful, expected)
    np.savez_compressed(HERE / "expected.npz", **expected)


@keras.saving.register_keras_serializable(package="custom")
class Scale(layers.Layer):
    def call(self, x):
        return 2.0 * x


def rewrite(source: Path, target: Path, entries: dict[str, bytes | None]) -> None:
    """A copy of the archive `source` with some entries replaced (None removes one), in order."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename not in entries:
                new.writestr(info.filename, old.read(info))
        for name, data in entries.items():
            if data is not None:
                new.writestr(name, data)


def make_bad() -> None:
    BAD.mkdir(exist_ok=True)
    lstm = GOOD / "lstm.keras"
    keras.Sequential([keras.Input(shape=(None, F)), layers.Lambda(lambda x: x * 2), layers.LSTM(2)]).save(BAD / "lambda.keras")
    keras.Sequential([keras.Input(shape=(None, F)), layers.Lambda(lambda x: x * 2), layers.LSTM(2)]).save(BAD / "lambda.h5")
    keras.Sequential([keras.Input(shape=(None, F)), Scale(), layers.LSTM(2)]).save(BAD / "custom_layer.keras")
    rewrite(lstm, BAD / "path_traversal.keras", {"../../evil.txt": b"written outside the folder"})
    config = zipfile.ZipFile(lstm).read("config.json")
    rewrite(lstm, BAD / "oversized_entry.keras", {"config.json": config + b" " * (20 * 2**20)})  # deflates to ~20 kB
    data = lstm.read_bytes()
    (BAD / "truncated.keras").write_bytes(data[: len(data) // 2])
    (BAD / "truncated.h5").write_bytes((GOOD / "lstm.h5").read_bytes()[:3000])
    gru_weights = zipfile.ZipFile(GOOD / "gru.keras").read("model.weights.h5")
    rewrite(lstm, BAD / "other_architecture.keras", {"model.weights.h5": gru_weights})
    (BAD / "other_architecture.weights.h5").write_bytes(gru_weights)  # for load_keras(path, model=lstm model)
    functional_in = keras.Input(shape=(None, F))
    keras.Model(functional_in, layers.LSTM(2)(functional_in)).save(BAD / "functional.keras")
    custom_activation = json.loads(config)
    custom_activation["config"]["layers"][1]["config"]["activation"] = {
        "module": "builtins", "class_name": "function", "config": "evil", "registered_name": "function"}
    rewrite(lstm, BAD / "custom_activation.keras", {"config.json": json.dumps(custom_activation).encode()})
    (BAD / "not_a_model.keras").write_bytes(b"plain text, not a zip\n")


if __name__ == "__main__":
    make_good()
    make_bad()
    sizes = sum(p.stat().st_size for p in [*GOOD.iterdir(), *BAD.iterdir()])
    print(f"wrote {GOOD} and {BAD} ({sizes / 1024:.0f} kB) with Keras {keras.__version__}")
