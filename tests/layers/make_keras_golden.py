"""Writes keras_golden.npz: real Keras outputs for the layer tests to match (test_keras_golden.py).

Not part of the test run (it needs TensorFlow); rerun by hand in an environment with Keras 3:

    python tests/layers/make_keras_golden.py     # writes tests/layers/keras_golden.npz

Each case stores its input, optional lengths (a right-padded mask), the weights given to the
Keras layer (Keras' own layout, the one rnnzoo shares) and every tensor the layer returned.
"""

from pathlib import Path

import keras
import numpy as np

B, T, F, U = 3, 6, 4, 5
rng = np.random.default_rng(0)
cases: dict[str, np.ndarray] = {}


def random_weights(layer):
    return [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()]


def record(name, make, lengths=None):
    x = rng.normal(size=(B, T, F)).astype("float32")
    layer = make()
    mask = None if lengths is None else np.arange(T)[None, :] < np.asarray(lengths)[:, None]
    layer(x, mask=mask)  # build
    weights = random_weights(layer)
    layer.set_weights(weights)
    outputs = layer(x, mask=mask)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    cases[f"{name}/x"] = x
    if lengths is not None:
        cases[f"{name}/lengths"] = np.asarray(lengths)
    for i, w in enumerate(weights):
        cases[f"{name}/weight{i}"] = w
    for i, o in enumerate(outputs):
        cases[f"{name}/output{i}"] = np.asarray(o)


LAYERS = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}
for kind, cls in LAYERS.items():
    for activation in ("tanh", "relu", "sigmoid", "linear"):
        for backwards in (False, True):
            record(f"{kind}-{activation}-{'backward' if backwards else 'forward'}",
                   lambda: cls(U, activation=activation, return_sequences=True, return_state=True, go_backwards=backwards))
    record(f"{kind}-masked", lambda: cls(U, return_sequences=True, return_state=True), lengths=[6, 2, 4])
    record(f"{kind}-masked-backward", lambda: cls(U, return_state=True, go_backwards=True), lengths=[6, 2, 4])
    for merge in ("concat", "sum", "mul", "ave"):
        record(f"{kind}-bidirectional-{merge}",
               lambda: keras.layers.Bidirectional(cls(U, return_sequences=True), merge_mode=merge))
    record(f"{kind}-bidirectional-masked",
           lambda: keras.layers.Bidirectional(cls(U, return_sequences=True, return_state=True)), lengths=[6, 2, 4])
for activation in ("tanh", "relu"):
    record(f"GRU-reset_before-{activation}",
           lambda: keras.layers.GRU(U, activation=activation, reset_after=False, return_sequences=True, return_state=True))
record("LSTM-hard_sigmoid", lambda: keras.layers.LSTM(U, recurrent_activation="hard_sigmoid", return_sequences=True))

path = Path(__file__).with_name("keras_golden.npz")
np.savez_compressed(path, keras_version=np.array(keras.__version__), **cases)
print(f"wrote {len(cases)} arrays to {path} (Keras {keras.__version__})")
