"""Every recurrent layer against the naive Keras-equation reference (tests/layers/reference.py)."""

import pytest
import torch

import rnnzoo
from rnnzoo.layers import activations

from . import reference

LAYERS = {"SimpleRNN": rnnzoo.SimpleRNN, "LSTM": rnnzoo.LSTM, "GRU": rnnzoo.GRU}
TOL = dict(atol=1e-5, rtol=1e-5)
B, T, F, U = 5, 7, 4, 6


def make(kind, **options):
    torch.manual_seed(0)
    layer = LAYERS[kind](U, input_dim=F, **options)
    with torch.no_grad():  # random biases, so a wrong bias block can't hide behind zeros
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return layer.double()


def inputs(batch=B, steps=T):
    torch.manual_seed(1)
    return torch.randn(batch, steps, F, dtype=torch.float64)


def check_against_reference(layer, x, lengths=None):
    """The batch call equals the reference run on each sequence alone (trimmed to its length)."""
    output = layer(x, lengths)
    outputs, states = (output[0], output[1:]) if layer.return_state else (output, None)
    for b in range(x.shape[0]):
        length = x.shape[1] if lengths is None else int(lengths[b])
        ref_outputs, ref_state = reference.run(layer, x[b, :length])
        if layer.return_sequences:
            torch.testing.assert_close(outputs[b, :length], ref_outputs, **TOL)
            assert torch.all(outputs[b, length:] == 0), "padded steps must output zeros"
        else:
            torch.testing.assert_close(outputs[b], ref_outputs[-1], **TOL)
        if states is not None:
            for got, want in zip(states, ref_state):
                torch.testing.assert_close(got[b], want, **TOL)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("activation", sorted(activations.ACTIVATIONS))
def test_every_activation_matches_reference(kind, activation):
    layer = make(kind, activation=activation, return_sequences=True)
    if activation == "exponential":  # exp feeding back into exp overflows unless weights are small
        with torch.no_grad():
            for p in layer.parameters():
                p.mul_(0.1)
    check_against_reference(layer, inputs())


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid", "tanh"])
def test_recurrent_activation_matches_reference(kind, recurrent_activation):
    layer = make(kind, recurrent_activation=recurrent_activation, return_sequences=True)
    check_against_reference(layer, inputs())


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_options_and_padded_lengths_match_reference(kind, return_sequences, return_state, go_backwards, padded):
    layer = make(kind, return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards)
    lengths = torch.tensor([7, 1, 4, 6, 3]) if padded else None
    check_against_reference(layer, inputs(), lengths)


@pytest.mark.parametrize("options", [dict(use_bias=False), dict(reset_after=False), dict(reset_after=False, use_bias=False)])
def test_gru_variants_match_reference(options):
    layer = make("GRU", return_sequences=True, **options)
    check_against_reference(layer, inputs(), torch.tensor([7, 2, 5, 7, 1]))


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM"])
def test_no_bias_matches_reference(kind):
    check_against_reference(make(kind, use_bias=False, return_sequences=True), inputs())


@pytest.mark.parametrize("kind", LAYERS)
def test_padded_batch_equals_each_sequence_alone(kind):
    """Padding content must not leak: garbage after each length changes nothing."""
    layer = make(kind, return_sequences=True, return_state=True)
    x, lengths = inputs(), torch.tensor([3, 7, 1, 5, 2])
    noisy = x.clone()
    for b, length in enumerate(lengths):
        noisy[b, length:] = 1e3
    for a, b in zip(layer(x, lengths), layer(noisy, lengths)):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    for b, length in enumerate(lengths):
        alone = layer(x[b : b + 1, :length])
        torch.testing.assert_close(alone[0][0], layer(x, lengths)[0][b, :length], **TOL)


@pytest.mark.parametrize("kind", LAYERS)
def test_initial_state_is_used(kind):
    layer = make(kind, return_sequences=True, return_state=True)
    x = inputs()
    torch.manual_seed(3)
    state = tuple(torch.randn(B, U, dtype=torch.float64) for _ in range(layer.cell.state_count))
    got = layer(x, initial_state=state)
    for b in range(B):
        ref_outputs, _ = reference.run(layer, x[b], h0=[s[b] for s in state])
        torch.testing.assert_close(got[0][b], ref_outputs, **TOL)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("backend", ["fused", "reference"])
def test_a_stateful_layer_keeps_its_state_without_the_graph(kind, backend):
    layer = LAYERS[kind](U, input_dim=F, stateful=True, backend=backend)
    x = torch.randn(B, T, F)
    for _ in range(2):  # the second backward ends at its call's first step (it can't go through the first)
        layer(x).sum().backward()
    assert all(s.grad_fn is None and not s.requires_grad for s in layer._kept_state())
    with torch.no_grad():
        output = layer(x)
    torch.testing.assert_close(layer._kept_state()[0], output, rtol=0, atol=0)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("rates", [(0.3, 0.0), (0.0, 0.4), (0.3, 0.4)])
def test_dropout_masks_apply_as_keras(kind, rates, monkeypatch):
    """With the masks fixed, training output equals the reference using Keras' per-gate masks."""
    dropout, recurrent_dropout = rates
    layer = make(kind, dropout=dropout, recurrent_dropout=recurrent_dropout, return_sequences=True).train()
    torch.manual_seed(5)
    masks = layer.cell.dropout_masks(B, inputs())
    count = layer.cell.gates if recurrent_dropout > 0 else 1  # Keras: one mask per gate with recurrent dropout
    for mask, rate, size in zip(masks, rates, (F, U)):
        if rate == 0:
            assert mask is None
        else:
            assert mask.shape == (count, B, size)
            assert set(mask.unique().tolist()) <= {0.0, 1.0 / (1.0 - rate)}
    monkeypatch.setattr(layer.cell, "dropout_masks", lambda batch, like: masks)
    x = inputs()
    got = layer(x)
    for b in range(B):
        per_sample = tuple(None if m is None else m[:, b] for m in masks)
        ref_outputs, _ = reference.run(layer, x[b], masks=per_sample)
        torch.testing.assert_close(got[b], ref_outputs, **TOL)


@pytest.mark.parametrize("kind", LAYERS)
def test_dropout_only_in_training(kind):
    layer = make(kind, dropout=0.5, recurrent_dropout=0.5)
    x = inputs()
    layer.eval()
    torch.testing.assert_close(layer(x), layer(x), atol=0, rtol=0)
    check_against_reference(layer, x)
    layer.train()
    torch.manual_seed(0)
    assert not torch.allclose(layer(x), layer.eval()(x))


@pytest.mark.parametrize("kind", LAYERS)
def test_gradients_match_autograd_of_reference_gradcheck(kind):
    layer = make(kind, return_sequences=True)
    x = inputs(batch=2, steps=3).requires_grad_()
    lengths = torch.tensor([3, 2])
    assert torch.autograd.gradcheck(lambda x, *params: layer(x, lengths), (x, *layer.parameters()))


@pytest.mark.parametrize("kind", LAYERS)
def test_any_number_of_steps(kind):
    layer = LAYERS[kind](U, input_dim=F)
    for steps in (1, 2, 50):
        assert layer(torch.randn(3, steps, F)).shape == (3, U)


@pytest.mark.parametrize("kind", LAYERS)
def test_lazy_build_on_first_call(kind):
    layer = LAYERS[kind](U, return_sequences=True)
    assert not layer.built and len(list(layer.parameters())) == 0
    assert layer(torch.randn(2, 3, F)).shape == (2, 3, U)
    assert layer.cell.kernel.shape[0] == F
