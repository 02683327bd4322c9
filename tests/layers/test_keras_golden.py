"""rnnzoo against Keras' own numbers: the same weights give the same outputs as Keras 3.

`keras_golden.npz` was written by `make_keras_golden.py` with real Keras (3.15.1 on TensorFlow
2.21): random inputs and weights, every output the Keras layer returned. With a mask (right
padding) only the valid steps and the final states are compared: Keras' outputs at padded steps
are a masking convention, and rnnzoo's backward reading order is documented to differ there.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

import rnnzoo

GOLDEN = np.load(Path(__file__).with_name("keras_golden.npz"))
CASES = sorted({key.split("/")[0] for key in GOLDEN.files if "/" in key})
LAYERS = {"SimpleRNN": rnnzoo.SimpleRNN, "LSTM": rnnzoo.LSTM, "GRU": rnnzoo.GRU}
U = 5


def build(case: str, backend: str):
    kind, *rest = case.split("-")
    cls = lambda *args, **kwargs: LAYERS[kind](*args, backend=backend, **kwargs)
    if rest[0] == "bidirectional":
        masked = rest[1] == "masked"
        inner = cls(U, return_sequences=True, return_state=masked)
        return rnnzoo.Bidirectional(inner, merge_mode="concat" if masked else rest[1])
    if rest[0] == "masked":
        backward = rest[-1] == "backward"
        return cls(U, return_sequences=not backward, return_state=True, go_backwards=backward)
    if rest[0] == "reset_before":
        return cls(U, activation=rest[1], reset_after=False, return_sequences=True, return_state=True)
    if rest[0] == "hard_sigmoid":
        return cls(U, recurrent_activation="hard_sigmoid", return_sequences=True)
    activation, direction = rest
    return cls(U, activation=activation, return_sequences=True, return_state=True, go_backwards=direction == "backward")


def load_weights(layer, weights):
    cells = [layer.forward_layer.cell, layer.backward_layer.cell] if isinstance(layer, rnnzoo.Bidirectional) else [layer.cell]
    weights = iter(weights)
    with torch.no_grad():
        for cell in cells:
            for name in ("kernel", "recurrent_kernel", "bias"):
                getattr(cell, name).copy_(torch.from_numpy(next(weights)))


@pytest.mark.parametrize("backend", ["reference", "auto"])
@pytest.mark.parametrize("case", CASES)
def test_matches_keras(case, backend):
    x = torch.from_numpy(GOLDEN[f"{case}/x"])
    lengths = torch.from_numpy(GOLDEN[f"{case}/lengths"]) if f"{case}/lengths" in GOLDEN.files else None
    weights = [GOLDEN[f"{case}/weight{i}"] for i in range(6) if f"{case}/weight{i}" in GOLDEN.files]
    expected = [GOLDEN[f"{case}/output{i}"] for i in range(7) if f"{case}/output{i}" in GOLDEN.files]
    layer = build(case, backend)
    layer.build((None, None, x.shape[-1]))
    load_weights(layer, weights)
    got = layer.eval()(x, lengths)
    got = list(got) if isinstance(got, tuple) else [got]
    assert len(got) == len(expected)
    for index, (ours, theirs) in enumerate(zip(got, expected)):
        ours = ours.detach().numpy()
        if lengths is not None and ours.ndim == 3:  # only the valid steps of each sequence
            for b, length in enumerate(lengths.tolist()):
                np.testing.assert_allclose(ours[b, :length], theirs[b, :length], rtol=1e-5, atol=1e-5,
                                           err_msg=f"{case} output {index} sequence {b}")
        else:
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5, err_msg=f"{case} output {index}")


def test_golden_file_covers_every_layer_and_mode():
    assert len(CASES) == 3 * (8 + 2 + 4 + 1) + 3
    assert str(GOLDEN["keras_version"]).startswith("3.")
