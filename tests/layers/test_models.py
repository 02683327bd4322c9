"""Sequential, summary, Dense, Dropout, initialisers: the notebook's models number for number."""

import io
import math

import pytest
import torch

import rnnzoo
from rnnzoo.layers import initializers


def seed_models():
    """The notebook's three models, written as its Keras code is."""
    I = rnnzoo.Input
    simple = rnnzoo.Sequential([I(shape=(None, 28)),
        rnnzoo.SimpleRNN(256, activation="tanh", return_sequences=True, name="hidden1"),
        rnnzoo.SimpleRNN(256, activation="tanh", return_sequences=False, name="hidden2"),
        rnnzoo.Dense(10, name="output_layer")], name="Simple_RNNs")
    lstm = rnnzoo.Sequential([I(shape=(None, 28)),
        rnnzoo.LSTM(256, return_sequences=True, activation="relu"), rnnzoo.Dropout(0.2),
        rnnzoo.LSTM(256, return_sequences=False), rnnzoo.Dropout(0.2),
        rnnzoo.Dense(10, name="output_layer")], name="LSTMs")
    gru = rnnzoo.Sequential([I(shape=(None, 28)),
        rnnzoo.GRU(256, return_sequences=True, activation="relu"), rnnzoo.Dropout(0.3),
        rnnzoo.GRU(128, return_sequences=False), rnnzoo.Dense(10)], name="GRUs")
    return simple, lstm, gru


EXPECTED = {
    "Simple_RNNs": ([72960, 131328, 2570], "206,858"),
    "LSTMs": ([291840, 0, 525312, 0, 2570], "819,722"),
    "GRUs": ([219648, 0, 148224, 1290], "369,162"),
}


@pytest.mark.parametrize("index", range(3))
def test_seed_model_summaries_number_for_number(index):
    model = seed_models()[index]
    per_layer, total = EXPECTED[model.name]
    assert [layer.count_params() for layer in model.layers] == per_layer
    text = model.summary(print_fn=None)
    assert f"Total params: {total}" in text and f"Trainable params: {total}" in text
    for count in per_layer:
        assert f" {count}" in text


def test_summary_layout_is_keras():
    simple = seed_models()[0]
    lines = simple.summary(print_fn=None).splitlines()
    assert lines[0] == 'Model: "Simple_RNNs"'
    assert lines[2] == " Layer (type)                Output Shape              Param #"
    assert lines[4] == " hidden1 (SimpleRNN)         (None, None, 256)         72960"
    assert lines[6] == " hidden2 (SimpleRNN)         (None, 256)               131328"
    assert lines[-2] == "Non-trainable params: 0"


def test_keras_default_names_and_state_dict_keys():
    _, lstm, gru = seed_models()
    assert [l.name for l in lstm.layers] == ["lstm", "dropout", "lstm_1", "dropout_1", "output_layer"]
    assert [l.name for l in gru.layers] == ["gru", "dropout", "gru_1", "dense"]
    assert "lstm.cell.recurrent_kernel" in lstm.state_dict()


def test_weight_layout_is_keras():
    _, lstm, gru = seed_models()
    cell = lstm.layers[0].cell
    assert cell.kernel.shape == (28, 1024) and cell.recurrent_kernel.shape == (256, 1024)
    assert cell.bias.shape == (1024,)
    gcell = gru.layers[2].cell
    assert gcell.kernel.shape == (256, 384) and gcell.bias.shape == (2, 384)
    simple = seed_models()[0].layers[0].cell
    assert simple.bias.shape == (256,)


def test_keras_initialisers():
    torch.manual_seed(0)
    _, lstm, gru = seed_models()
    cell = lstm.layers[0].cell
    # unit_forget_bias: forget block ones, the rest zeros
    assert torch.equal(cell.bias[256:512], torch.ones(256))
    assert torch.count_nonzero(cell.bias[:256]) == 0 and torch.count_nonzero(cell.bias[512:]) == 0
    # orthogonal recurrent kernel (U, 4U): orthonormal rows
    U = cell.recurrent_kernel.detach()
    torch.testing.assert_close(U @ U.T, torch.eye(256), atol=1e-4, rtol=0)
    # glorot_uniform kernel (28, 1024): within +-sqrt(6 / (28 + 1024)), spread over the range
    limit = math.sqrt(6 / (28 + 1024))
    assert cell.kernel.abs().max() <= limit and cell.kernel.abs().max() > 0.95 * limit
    assert abs(cell.kernel.std().item() - limit / math.sqrt(3)) < 0.01 * limit
    assert torch.count_nonzero(gru.layers[0].cell.bias) == 0


def test_he_and_lecun_use_keras_fan_in():
    w = torch.empty(1000, 10)  # Keras kernel layout: fan_in is dim 0
    initializers.get("he_uniform")(w)
    assert w.abs().max() <= math.sqrt(6 / 1000)
    with pytest.raises(ValueError, match="unknown initializer"):
        initializers.get("nope")


def test_dense_and_dropout():
    torch.manual_seed(0)
    dense = rnnzoo.Dense(3, activation="relu", input_dim=4)
    x = torch.randn(2, 5, 4)
    torch.testing.assert_close(dense(x), torch.relu(x @ dense.kernel + dense.bias))
    drop = rnnzoo.Dropout(0.5)
    drop.eval()
    assert torch.equal(drop(x), x)
    drop.train()
    y = drop(torch.ones(1000))
    assert set(y.unique().tolist()) <= {0.0, 2.0} and 400 < int((y == 0).sum()) < 600


def test_sequential_forward_shapes_and_lengths():
    simple, lstm, gru = seed_models()
    x = torch.randn(4, 28, 28)
    for model in (simple, lstm, gru):
        model.eval()
        assert model(x).shape == (4, 10)
        assert model(torch.randn(4, 9, 28)).shape == (4, 10)  # time is never fixed
        lengths = torch.tensor([28, 5, 17, 1])
        out = model(x, lengths)
        for b, length in enumerate(lengths):
            torch.testing.assert_close(out[b], model(x[b : b + 1, :length])[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("bad, message", [
    (torch.randn(2, 28), r"expects input of shape \(batch, any, 28\), got \(2, 28\)"),
    (torch.randn(2, 5, 27), r"expects input of shape \(batch, any, 28\), got \(2, 5, 27\)"),
])
def test_sequential_rejects_wrong_input(bad, message):
    with pytest.raises(ValueError, match=message):
        seed_models()[0](bad)


@pytest.mark.parametrize("lengths, message", [
    (torch.tensor([1, 2]), r"shape \(3,\)"),
    (torch.tensor([0, 2, 3]), r"\[1, 5\]"),
    (torch.tensor([1, 2, 6]), r"\[1, 5\]"),
    (torch.tensor([1.0, 2.0, 3.0]), "integers"),
])
def test_bad_lengths(lengths, message):
    with pytest.raises(ValueError, match=message):
        rnnzoo.GRU(4, input_dim=3)(torch.randn(3, 5, 3), lengths)


@pytest.mark.parametrize("make, message", [
    (lambda: rnnzoo.LSTM(0), "units must be a positive integer"),
    (lambda: rnnzoo.GRU(4, dropout=1.0), r"dropout must be in \[0, 1\)"),
    (lambda: rnnzoo.SimpleRNN(4, activation="nope"), "unknown activation 'nope'"),
    (lambda: rnnzoo.Dropout(-0.1), r"rate must be in \[0, 1\)"),
    (lambda: rnnzoo.Input(shape=(None, None)), "feature size"),
    (lambda: rnnzoo.Sequential([rnnzoo.Input(shape=(None, 3)), rnnzoo.LSTM(4, return_state=True)]), "return_state"),
    (lambda: rnnzoo.LSTM(4, name="a.b"), "identifier"),
])
def test_constructor_errors_name_the_problem(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_layer_built_for_other_feature_size():
    layer = rnnzoo.LSTM(4, input_dim=3)
    with pytest.raises(ValueError, match="built for 3 input features, got 5"):
        layer(torch.randn(2, 4, 5))


def test_whole_models_save_and_load_with_torch():
    """torch.save(model) as PyTorch users do: the notebook's models and a stack of other layer types, after
    calls that leave kept records and states behind."""
    more = rnnzoo.Sequential([rnnzoo.Input(shape=(None, 3)), rnnzoo.Masking(0.0),
                              rnnzoo.Bidirectional(rnnzoo.LSTM(4, return_sequences=True, activation="leaky_relu")),
                              rnnzoo.RNN([rnnzoo.GRUCell(3), rnnzoo.SimpleRNNCell(2)], stateful=True),
                              rnnzoo.Dense(2, kernel_initializer="he_normal")])
    for model in (*seed_models(), more):
        x = torch.rand(2, 5, model.input_shape[-1])
        model.eval()
        model(x)
        with torch.enable_grad():
            model(x).sum().backward()
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=False)
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)  # a stateful one from the same kept state
