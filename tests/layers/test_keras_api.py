"""rnnzoo against Keras 3's numbers for the rest of its recurrent API: masks with holes and left
padding, regularizer losses, constraints (alone and after a training step) and stateful layers.

`keras_api.npz` was written by `make_keras_api.py` with Keras 3.15.1 on the torch backend; every
case gives the same random weights to both frameworks.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

import rnnzoo
from rnnzoo.layers import constraints, regularizers

KERAS = np.load(Path(__file__).with_name("keras_api.npz"))
LAYERS = {"SimpleRNN": rnnzoo.SimpleRNN, "LSTM": rnnzoo.LSTM, "GRU": rnnzoo.GRU}
U = 5
BACKENDS = ["reference", "fused"]


def cases(section: str) -> list[str]:
    return sorted({key.split("/")[1] for key in KERAS.files if key.startswith(section + "/") and key.count("/") > 1})


def load_weights(module: torch.nn.Module, name: str) -> None:
    weights = [p for p in module.parameters()]
    with torch.no_grad():
        for i, p in enumerate(weights):
            p.copy_(torch.from_numpy(KERAS[f"{name}/weight{i}"]))
    assert f"{name}/weight{len(weights)}" not in KERAS.files  # every Keras weight was used


def outputs(result) -> list[np.ndarray]:
    return [o.detach().numpy() for o in (result if isinstance(result, tuple) else (result,))]


def assert_keras(got: list, name: str, call: int = 0) -> None:
    expected = [KERAS[f"{name}/call{call}/output{i}"] for i in range(8) if f"{name}/call{call}/output{i}" in KERAS.files]
    assert len(got) == len(expected)
    for i, (ours, theirs) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5, err_msg=f"{name} call {call} output {i}")


# -- masks -----------------------------------------------------------------------------------------
def build_masked(case: str, backend: str):
    kind, *rest = case.split("-")
    if rest[0] == "bidirectional":
        inner = LAYERS[kind](U, return_sequences=rest[1] == "sequences", return_state=True)
        return rnnzoo.Bidirectional(inner, backend=backend)
    direction, returned, *zeros = rest
    return LAYERS[kind](U, return_sequences=returned == "sequences", return_state=True,
                        go_backwards=direction == "backward", zero_output_for_mask=bool(zeros), backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", cases("mask"))
def test_masks_match_keras(case, backend):
    name = f"mask/{case}"
    layer = build_masked(case, backend)
    x = torch.from_numpy(KERAS[f"{name}/x0"])
    layer.build((None, None, x.shape[-1]))
    load_weights(layer, name)
    assert_keras(outputs(layer.eval()(x, mask=torch.from_numpy(KERAS["mask"]))), name)


def test_mask_cases_cover_every_layer_and_mode():
    # 3 kinds x (2 directions x (last, sequences, each with and without zeros) + 2 bidirectional)
    assert len(cases("mask")) == 3 * (2 * 4 + 2)
    assert str(KERAS["keras_version"]).startswith("3.")


@pytest.mark.parametrize("backend", BACKENDS)
def test_masking_layer_in_sequential_matches_keras(backend):
    x = torch.from_numpy(KERAS["masking/x0"])
    model = rnnzoo.Sequential([rnnzoo.Input((None, x.shape[-1])), rnnzoo.Masking(0.0),
                               rnnzoo.LSTM(U, return_sequences=True, backend=backend),
                               rnnzoo.GRU(3, return_sequences=True, backend=backend), rnnzoo.Dense(2)])
    load_weights(model, "masking")
    assert_keras(outputs(model.eval()(x)), "masking")


# -- regularizers ----------------------------------------------------------------------------------
REGULARIZED = {
    "objects": dict(kernel_regularizer=regularizers.L1(0.01), recurrent_regularizer=regularizers.L2(0.02),
                    bias_regularizer=regularizers.L1L2(l1=0.01, l2=0.03), activity_regularizer=regularizers.L2(0.05)),
    "names": dict(kernel_regularizer="l1", recurrent_regularizer="l2", bias_regularizer="l2",
                  activity_regularizer="l1"),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", cases("regularizers"))
def test_regularizer_losses_match_keras(case, backend):
    name = f"regularizers/{case}"
    _, label, returned = case.split("-")
    layer = rnnzoo.LSTM(U, return_sequences=returned == "sequences", return_state=True, backend=backend,
                        **REGULARIZED[label])
    x = torch.from_numpy(KERAS[f"{name}/x0"])
    layer.build((None, None, x.shape[-1]))
    load_weights(layer, name)
    assert_keras(outputs(layer(x)), name)
    losses = torch.stack(layer.losses).detach().numpy()
    # Keras lists the activity losses (one per returned tensor), then the kernel's, recurrent kernel's, bias'
    np.testing.assert_allclose(losses, KERAS[f"{name}/losses"], rtol=1e-5, atol=1e-6)
    assert float(regularizers.regularization_loss(layer).detach()) == pytest.approx(KERAS[f"{name}/losses"].sum(), rel=1e-5)


def test_regularizer_cases_cover_three_weight_losses_on_an_lstm():
    for case in cases("regularizers"):
        assert len(KERAS[f"regularizers/{case}/losses"]) == 3 + 3  # activity on output, h, c; three weights
    assert len(cases("regularizers")) == 4


# -- constraints -----------------------------------------------------------------------------------
CONSTRAINTS = {"max_norm": constraints.MaxNorm(), "max_norm-1": constraints.MaxNorm(1.5, axis=1),
               "non_neg": constraints.NonNeg(), "unit_norm": constraints.UnitNorm(),
               "unit_norm-1": constraints.UnitNorm(axis=1),
               "min_max_norm": constraints.MinMaxNorm(0.5, 1.0, rate=0.7),
               "min_max_norm-1": constraints.MinMaxNorm(2.0, 3.0, axis=1)}


@pytest.mark.parametrize("label", list(CONSTRAINTS))
def test_constraints_match_keras(label):
    w = torch.from_numpy(KERAS["constraints/w"])
    np.testing.assert_allclose(CONSTRAINTS[label](w).numpy(), KERAS[f"constraints/{label}"], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_step_with_regularizers_and_constraints_matches_keras(backend):
    """One SGD step on mse + regularization, then the constraints: Keras' train_on_batch."""
    layer = rnnzoo.LSTM(U, kernel_regularizer="l2", recurrent_regularizer=regularizers.L1(0.02),
                        kernel_constraint=constraints.MaxNorm(0.5), recurrent_constraint="unit_norm",
                        bias_constraint="non_neg", backend=backend)
    x, y = torch.from_numpy(KERAS["train_step/x"]), torch.from_numpy(KERAS["train_step/y"])
    layer.build((None, None, x.shape[-1]))
    load_weights(layer, "train_step")
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.5)
    loss = torch.nn.functional.mse_loss(layer(x), y) + regularizers.regularization_loss(layer)
    assert float(loss.detach()) == pytest.approx(float(KERAS["train_step/loss"]), rel=1e-5)
    loss.backward()
    optimizer.step()
    constraints.apply_constraints(layer)
    for i, w in enumerate(layer.parameters()):
        np.testing.assert_allclose(w.detach().numpy(), KERAS[f"train_step/after{i}"], rtol=1e-5, atol=1e-6)


# -- stateful --------------------------------------------------------------------------------------
def build_stateful(case: str, backend: str):
    if case == "Bidirectional-LSTM":
        return rnnzoo.Bidirectional(rnnzoo.LSTM(U, stateful=True, return_sequences=True), backend=backend)
    if case == "LSTM-last":
        return rnnzoo.LSTM(U, stateful=True, backend=backend)
    return LAYERS[case](U, stateful=True, return_sequences=True, return_state=True, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", cases("stateful"))
def test_stateful_layers_match_keras(case, backend):
    name = f"stateful/{case}"
    layer = build_stateful(case, backend).eval()
    layer.build((None, None, KERAS[f"{name}/x0"].shape[-1]))
    load_weights(layer, name)
    for call in range(3):  # each call starts from the state the previous one left
        assert_keras(outputs(layer(torch.from_numpy(KERAS[f"{name}/x{call}"]))), name, call)
    layer.reset_state()  # and after a reset, from zeros again
    assert_keras(outputs(layer(torch.from_numpy(KERAS[f"{name}/x0"]))), name, 0)


def test_stateful_cases_cover_simple_rnn_lstm_gru_and_bidirectional():
    assert cases("stateful") == ["Bidirectional-LSTM", "GRU", "LSTM", "LSTM-last", "SimpleRNN"]


# -- cells -----------------------------------------------------------------------------------------
CELLS = {"SimpleRNNCell": rnnzoo.SimpleRNNCell, "LSTMCell": rnnzoo.LSTMCell, "GRUCell": rnnzoo.GRUCell}


@pytest.mark.parametrize("kind", CELLS)
def test_a_cell_called_alone_matches_keras(kind):
    name = f"cell/{kind}"
    cell = CELLS[kind](U)
    x = torch.from_numpy(KERAS[f"{name}/x0"])
    states = [torch.from_numpy(KERAS[f"{name}/state{i}"]) for i in range(2) if f"{name}/state{i}" in KERAS.files]
    cell(x, states)  # builds, as Keras' first call
    load_weights(cell, name)
    output, new_states = cell(x, states)
    assert_keras(outputs((output, *new_states)), name)
    assert cell.state_size == (U if kind != "LSTMCell" else [U, U])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", CELLS)
def test_rnn_of_a_cell_matches_keras(kind, backend):
    name = f"rnn/{kind}"
    layer = rnnzoo.RNN(CELLS[kind](U), return_sequences=True, return_state=True, go_backwards=True, backend=backend)
    x = torch.from_numpy(KERAS[f"{name}/x0"])
    layer.build((None, None, x.shape[-1]))
    load_weights(layer, name)
    assert_keras(outputs(layer(x, mask=torch.from_numpy(KERAS["mask"]))), name)


def test_rnn_of_stacked_cells_matches_keras():
    layer = rnnzoo.RNN([rnnzoo.LSTMCell(U), rnnzoo.GRUCell(3), rnnzoo.SimpleRNNCell(2)], return_sequences=True,
                       return_state=True)
    x = torch.from_numpy(KERAS["rnn/stacked/x0"])
    layer.build((None, None, x.shape[-1]))
    load_weights(layer, "rnn/stacked")
    assert_keras(outputs(layer(x)), "rnn/stacked")  # the output, then every cell's states in order
    with pytest.raises(ValueError, match="backend='fused' cannot run .* StackedRNNCells is not one of rnnzoo's cells"):
        rnnzoo.RNN(layer.cell.inner, backend="fused")(x)


def test_time_distributed_matches_keras():
    layer = rnnzoo.TimeDistributed(rnnzoo.Dense(3, activation="tanh"))
    x = torch.from_numpy(KERAS["time_distributed/Dense/x0"])
    layer.build((None, None, x.shape[-1]))
    load_weights(layer, "time_distributed/Dense")
    assert_keras(outputs(layer(x)), "time_distributed/Dense")
