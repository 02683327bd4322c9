"""Keras' cell API: a user's own cell in RNN (reference loop, masks and state included), stacked
cells against the layers they stand for, TimeDistributed, and how they appear in summary() and TOML."""

import pytest
import torch
from torch import nn

import rnnzoo
from rnnzoo import config

B, T, F, U = 3, 28, 28, 6  # MNIST rows, the default task of a TOML experiment


class MinimalRNNCell(nn.Module):
    """Keras' documentation example: h_t = x_t W + h_{t-1} U."""

    def __init__(self, units):
        super().__init__()
        self.state_size = units
        self.units = units

    def build(self, input_dim):
        self.kernel = nn.Parameter(torch.randn(input_dim, self.units, dtype=torch.float64))
        self.recurrent_kernel = nn.Parameter(torch.randn(self.units, self.units, dtype=torch.float64) / self.units)

    def forward(self, x, states):
        h = x @ self.kernel + states[0] @ self.recurrent_kernel
        return h, [h]


def test_a_users_cell_runs_in_rnn_with_masks_and_state():
    torch.manual_seed(0)
    cell = MinimalRNNCell(U)
    layer = rnnzoo.RNN(cell, return_sequences=True, return_state=True)
    x = torch.randn(B, T, F, dtype=torch.float64)
    mask = torch.rand(B, T, generator=torch.Generator().manual_seed(1)) > 0.3
    mask[1, :4] = False  # left padding
    outputs, h = layer(x, mask=mask)
    for b in range(B):  # by hand: the valid steps only
        state = torch.zeros(U, dtype=torch.float64)
        for t in range(T):
            if mask[b, t]:
                state = x[b, t] @ cell.kernel + state @ cell.recurrent_kernel
            torch.testing.assert_close(outputs[b, t], state if mask[b, :t + 1].any() else torch.zeros(U, dtype=torch.float64))
        torch.testing.assert_close(h[b], state)
    assert layer.plan(x).reason.startswith("MinimalRNNCell is not one of rnnzoo's cells")
    assert list(layer.parameters())  # the cell's weights are the layer's, for an optimizer


def test_stacked_cells_equal_the_stacked_layers():
    torch.manual_seed(0)
    stacked = rnnzoo.RNN(rnnzoo.StackedRNNCells([rnnzoo.LSTMCell(U), rnnzoo.GRUCell(2)]), return_sequences=True)
    first, second = rnnzoo.LSTM(U, return_sequences=True), rnnzoo.GRU(2, return_sequences=True)
    x = torch.randn(B, T, F)
    stacked.build((None, None, F))
    first.build((None, None, F))
    second.build((None, None, U))
    first.cell.load_state_dict(stacked.cell.inner.cells[0].state_dict())
    second.cell.load_state_dict(stacked.cell.inner.cells[1].state_dict())
    torch.testing.assert_close(stacked(x), second(first(x)))
    assert stacked.count_params() == first.count_params() + second.count_params()
    assert stacked.cell.inner.state_size == [[U, U], 2]


def test_a_cell_alone_refuses_the_wrong_number_of_states():
    cell = rnnzoo.LSTMCell(U)
    with pytest.raises(ValueError, match="LSTMCell takes 2 state tensor"):
        cell(torch.randn(B, F), [torch.zeros(B, U)])
    output, states = cell(torch.randn(B, F), cell.get_initial_state(B) if cell.input_dim else [torch.zeros(B, U)] * 2)
    assert output.shape == (B, U) and len(states) == 2


def test_rnn_refuses_what_is_not_a_cell():
    with pytest.raises(TypeError, match="RNN takes a cell with a state_size"):
        rnnzoo.RNN(nn.Linear(3, 3))


def test_time_distributed_and_rnn_of_cells_in_a_summary():
    model = rnnzoo.Sequential([rnnzoo.Input((T, F)), rnnzoo.RNN([rnnzoo.SimpleRNNCell(U), rnnzoo.GRUCell(3)],
                                                                return_sequences=True),
                               rnnzoo.TimeDistributed(rnnzoo.Dense(2))])
    text = model.summary(print_fn=None)
    assert "rnn (RNN)" in text and f"(None, {T}, 3)" in text
    assert "time_distributed (TimeDistributed)" in text and f"(None, {T}, 2)" in text
    simple, gru = U * (F + U + 1), 3 * 3 * (U + 3 + 2)
    assert f"Total params: {simple + gru + 3 * 2 + 2:,}" in text
    assert model(torch.randn(B, T, F)).shape == (B, T, 2)


def test_toml_takes_time_distributed_and_masking():
    layers = [{"type": "Masking", "mask_value": 0.0},
              {"type": "LSTM", "units": U, "return_sequences": True, "kernel_regularizer": {"l2": 0.001},
               "recurrent_constraint": "unit_norm"},
              {"type": "TimeDistributed", "layer": {"type": "Dense", "units": 10}}]
    copy = {"dataset": "copy", "length": 8}  # 28 steps of 10 features, a class at every step
    experiment = config.parse({"name": "x", "data": copy, "model": {"input": [28, 10], "layers": layers}})
    model = experiment.build_model()
    assert isinstance(model.layers[2], rnnzoo.TimeDistributed) and model.layers[2].layer.units == 10
    assert len(model.losses) == 1
    layers[1]["kernel_constraint"] = {"max": 3}
    with pytest.raises(config.ConfigError, match=r"model.layers\[1\].*unknown constraint 'max'"):
        config.parse({"name": "x", "data": copy, "model": {"input": [28, 10], "layers": layers}})


def test_toml_takes_rnn_of_cells_alone_stacked_and_bidirectional():
    layers = [{"type": "RNN", "return_sequences": True,
               "cell": [{"type": "SimpleRNNCell", "units": 4},
                        {"type": "GRUCell", "units": 3, "reset_after": False, "kernel_regularizer": {"l2": 0.01}}]},
              {"type": "Bidirectional", "layer": {"type": "RNN", "cell": {"type": "LSTMCell", "units": 5}}},
              {"type": "Dense", "units": 10}]
    data = {"name": "x", "model": {"input": [28, 28], "layers": layers}}
    experiment = config.parse(data)
    model = experiment.build_model()
    stacked, bidirectional = model.layers[0], model.layers[1]
    assert [type(c).__name__ for c in stacked.cell.inner.cells] == ["SimpleRNNCell", "GRUCell"]
    assert stacked.cell.inner.cells[1].reset_after is False  # a GRUCell's own key
    assert stacked.cell.inner.cells[1].kernel_regularizer.l2 == 0.01  # and one it passes to every cell
    assert isinstance(bidirectional.forward_layer.cell, rnnzoo.LSTMCell)
    assert bidirectional.backward_layer.cell is not bidirectional.forward_layer.cell
    assert model(torch.randn(2, 28, 28)).shape == (2, 10)
    assert experiment.build_model().layers[0].cell is not stacked.cell  # each build makes its cells anew
    assert config.parse(experiment.to_dict()) == experiment  # and the spec goes through JSON and back
    for cell, error in [({"type": "LSTM", "units": 5}, r"layers\[0\].cell.type: unknown cell type 'LSTM'.*LSTMCell"),
                        ([], r"layers\[0\].cell: expected a cell table"),
                        ({"type": "GRUCell", "units": 0}, r"layers\[0\].cell: units must be a positive integer"),
                        ([{"type": "GRUCell", "unit": 3}], r"layers\[0\].cell\[0\].unit: unknown key")]:
        with pytest.raises(config.ConfigError, match=error):
            config.parse({"name": "x", "model": {"layers": [{"type": "RNN", "cell": cell}]}})
