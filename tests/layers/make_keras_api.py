"""Writes keras_api.npz: Keras 3's numbers for masks, regularizers, constraints and stateful layers,
which test_keras_api.py makes rnnzoo reproduce.

Not part of the test run (it needs Keras); rerun by hand in an environment with Keras 3:

    KERAS_BACKEND=torch python tests/layers/make_keras_api.py   # writes tests/layers/keras_api.npz

Each case stores its inputs, the weights given to the Keras layer (Keras' layout, the one rnnzoo
shares) and what Keras returned. Weights are random, not Keras' initial ones, so that a misplaced
gate or bias shows.
"""

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import constraints, layers, regularizers  # noqa: E402

B, T, F, U = 4, 6, 4, 5
rng = np.random.default_rng(0)
cases: dict[str, np.ndarray] = {}
LAYERS = {"SimpleRNN": layers.SimpleRNN, "LSTM": layers.LSTM, "GRU": layers.GRU}
# holes, left padding, every step, no step
MASK = np.array([[1, 0, 1, 1, 0, 1], [0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]], dtype=bool)


def as_list(outputs):
    """Every tensor returned, nested lists (a stacked cell's states) flattened in order."""
    if isinstance(outputs, (list, tuple)):
        return [array for o in outputs for array in as_list(o)]
    return [np.asarray(outputs.detach().cpu()) if hasattr(outputs, "detach") else np.asarray(outputs)]


def set_random_weights(name, layer):
    weights = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()]
    layer.set_weights(weights)
    for i, w in enumerate(weights):
        cases[f"{name}/weight{i}"] = w


def record(name, layer, inputs, **call):
    """Calls layer on each input in turn (one call for a plain case, several for stateful ones)."""
    layer(inputs[0], **call)  # build
    set_random_weights(name, layer)
    if getattr(layer, "stateful", False):
        layer.reset_state()
    for k, x in enumerate(inputs):
        cases[f"{name}/x{k}"] = x
        for i, o in enumerate(as_list(layer(x, **call))):
            cases[f"{name}/call{k}/output{i}"] = o
    return layer


# -- masks -------------------------------------------------------------------------------------
cases["mask"] = MASK
for kind, cls in LAYERS.items():
    for backwards in (False, True):
        for sequences in (False, True):
            for zeros in ((False, True) if sequences else (False,)):
                name = f"mask/{kind}-{'backward' if backwards else 'forward'}-{'sequences' if sequences else 'last'}"
                name += "-zeros" if zeros else ""
                x = rng.normal(size=(B, T, F)).astype("float32")
                record(name, cls(U, return_sequences=sequences, return_state=True, go_backwards=backwards,
                                 zero_output_for_mask=zeros), [x], mask=MASK)
    # (Keras 3.15 refuses to wrap a go_backwards layer: its copy reads backwards too.)
    for sequences in (False, True):
        name = f"mask/{kind}-bidirectional-{'sequences' if sequences else 'last'}"
        x = rng.normal(size=(B, T, F)).astype("float32")
        record(name, layers.Bidirectional(cls(U, return_sequences=sequences, return_state=True)), [x], mask=MASK)

# Masking makes the mask from the data; a Sequential hands it on through two LSTMs and a Dense.
x = rng.normal(size=(B, T, F)).astype("float32")
x[~MASK] = 0.0
model = keras.Sequential([keras.Input((T, F)), layers.Masking(0.0), layers.LSTM(U, return_sequences=True),
                          layers.GRU(3, return_sequences=True), layers.Dense(2)])
cases["masking/x0"] = x
weights = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.get_weights()]
model.set_weights(weights)
for i, w in enumerate(weights):
    cases[f"masking/weight{i}"] = w
cases["masking/call0/output0"] = as_list(model(x))[0]

# -- regularizers: Keras' layer.losses after one call, in Keras' order (activity, then weights) --
REGULARIZED = {
    "objects": dict(kernel_regularizer=regularizers.L1(0.01), recurrent_regularizer=regularizers.L2(0.02),
                    bias_regularizer=regularizers.L1L2(l1=0.01, l2=0.03), activity_regularizer=regularizers.L2(0.05)),
    "names": dict(kernel_regularizer="l1", recurrent_regularizer="l2", bias_regularizer="l2",
                  activity_regularizer="l1"),
}
for label, options in REGULARIZED.items():
    for sequences in (False, True):
        name = f"regularizers/LSTM-{label}-{'sequences' if sequences else 'last'}"
        layer = record(name, layers.LSTM(U, return_sequences=sequences, return_state=True, **options),
                       [rng.normal(size=(B, T, F)).astype("float32")])
        cases[f"{name}/losses"] = np.array([float(loss.detach()) for loss in layer.losses])

# -- constraints: on their own, and after one SGD step of a regularized, constrained LSTM ---------
w = rng.normal(size=(F, 4 * U)).astype("float32")
cases["constraints/w"] = w
CONSTRAINTS = {"max_norm": constraints.MaxNorm(), "max_norm-1": constraints.MaxNorm(1.5, axis=1),
               "non_neg": constraints.NonNeg(), "unit_norm": constraints.UnitNorm(),
               "unit_norm-1": constraints.UnitNorm(axis=1),
               "min_max_norm": constraints.MinMaxNorm(0.5, 1.0, rate=0.7),
               "min_max_norm-1": constraints.MinMaxNorm(2.0, 3.0, axis=1)}
for label, constraint in CONSTRAINTS.items():
    cases[f"constraints/{label}"] = np.asarray(constraint(w))

x, y = rng.normal(size=(B, T, F)).astype("float32"), rng.normal(size=(B, U)).astype("float32")
layer = layers.LSTM(U, kernel_regularizer="l2", recurrent_regularizer=regularizers.L1(0.02),
                    kernel_constraint=constraints.MaxNorm(0.5), recurrent_constraint=constraints.UnitNorm(),
                    bias_constraint=constraints.NonNeg())
model = keras.Sequential([keras.Input((T, F)), layer])
set_random_weights("train_step", layer)
model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
cases["train_step/x"], cases["train_step/y"] = x, y
cases["train_step/loss"] = np.array(model.train_on_batch(x, y))
for i, w in enumerate(layer.get_weights()):
    cases[f"train_step/after{i}"] = w

# -- stateful: three calls in a row, each starting from the state the last one left ---------------
inputs = [rng.normal(size=(3, T, F)).astype("float32") for _ in range(3)]
for kind, cls in LAYERS.items():
    record(f"stateful/{kind}", cls(U, stateful=True, return_sequences=True, return_state=True), inputs[:3])
record("stateful/Bidirectional-LSTM", layers.Bidirectional(layers.LSTM(U, stateful=True, return_sequences=True)),
       inputs[:3])
record("stateful/LSTM-last", layers.LSTM(U, stateful=True), inputs[:3])

# -- cells: alone (one step from random states), in RNN(cell), stacked; TimeDistributed -------------
CELLS = {"SimpleRNNCell": layers.SimpleRNNCell, "LSTMCell": layers.LSTMCell, "GRUCell": layers.GRUCell}
for kind, cls in CELLS.items():
    cell = cls(U)
    x = rng.normal(size=(B, F)).astype("float32")
    states = [rng.normal(size=(B, U)).astype("float32") for _ in range(2 if kind == "LSTMCell" else 1)]
    cell(x, states)  # build
    set_random_weights(f"cell/{kind}", cell)
    output, new_states = cell(x, states)
    cases[f"cell/{kind}/x0"] = x
    for i, s in enumerate(states):
        cases[f"cell/{kind}/state{i}"] = s
    for i, o in enumerate(as_list([output, *new_states])):
        cases[f"cell/{kind}/call0/output{i}"] = o
    record(f"rnn/{kind}", layers.RNN(cls(U), return_sequences=True, return_state=True, go_backwards=True),
           [rng.normal(size=(B, T, F)).astype("float32")], mask=MASK)
record("rnn/stacked", layers.RNN([layers.LSTMCell(U), layers.GRUCell(3), layers.SimpleRNNCell(2)],
                                 return_sequences=True, return_state=True),
       [rng.normal(size=(B, T, F)).astype("float32")])
record("time_distributed/Dense", layers.TimeDistributed(layers.Dense(3, activation="tanh")),
       [rng.normal(size=(B, T, F)).astype("float32")])

# zero_output_for_mask without return_sequences: the last output is zeros where the last step read is masked
for kind, cls in LAYERS.items():
    for backwards in (False, True):
        name = f"mask/{kind}-{'backward' if backwards else 'forward'}-last-zeros"
        record(name, cls(U, return_state=True, go_backwards=backwards, zero_output_for_mask=True),
               [rng.normal(size=(B, T, F)).astype("float32")], mask=MASK)

path = Path(__file__).with_name("keras_api.npz")
np.savez_compressed(path, keras_version=np.array(keras.__version__), **cases)
print(f"wrote {len(cases)} arrays to {path} (Keras {keras.__version__})")
