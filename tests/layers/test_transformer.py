"""The Transformer baseline against a naive float64 encoder written from the equations."""

import math

import pytest
import torch

import rnnzoo
from rnnzoo.config import ConfigError, parse


def naive(layer, x):
    """One sequence x (T, F), float64, dropout off: its outputs (T, U); every head its own loop."""
    steps, units, heads = x.shape[0], layer.units, layer.heads
    d = units // heads

    def dense(dense_layer, v):
        return v @ dense_layer.kernel.double() + dense_layer.bias.double()

    def norm(norm_layer, v):
        mean, var = v.mean(-1, keepdim=True), v.var(-1, unbiased=False, keepdim=True)
        return (v - mean) / torch.sqrt(var + norm_layer.eps) * norm_layer.weight.double() + norm_layer.bias.double()

    if layer.positions == "learned":
        positions = layer.position_embedding[:steps].double()
    else:
        positions = torch.zeros(steps, units, dtype=torch.float64)
        for t in range(steps):
            for i in range(0, units, 2):
                angle = t / 10000 ** (i / units)
                positions[t, i] = math.sin(angle)
                if i + 1 < units:
                    positions[t, i + 1] = math.cos(angle)
    h = dense(layer.input_projection, x.double()) + positions
    for block in layer.blocks:
        q, k, v = dense(block.qkv, norm(block.attention_norm, h)).split(units, dim=-1)
        heads_out = []
        for j in range(heads):
            qj, kj, vj = (m[:, j * d:(j + 1) * d] for m in (q, k, v))
            scores = qj @ kj.T / math.sqrt(d)
            if layer.causal:
                scores = scores.masked_fill(torch.ones(steps, steps).triu(1).bool(), float("-inf"))
            heads_out.append(torch.softmax(scores, dim=-1) @ vj)
        h = h + dense(block.attention_output, torch.cat(heads_out, dim=-1))
        h = h + dense(block.output, torch.relu(dense(block.hidden, norm(block.feedforward_norm, h))))
    return norm(layer.final_norm, h)


def make(**options):
    torch.manual_seed(0)
    layer = rnnzoo.Transformer(8, heads=2, blocks=2, feedforward=12, input_dim=3, **options).double()
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))  # biases and norms off their initial values
    return layer


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
@pytest.mark.parametrize("causal", [False, True])
def test_padded_batch_equals_each_sequence_through_the_naive_encoder(positions, causal):
    layer = make(positions=positions, causal=causal, max_length=10, return_sequences=True)
    torch.manual_seed(1)
    x, lengths = torch.randn(3, 6, 3, dtype=torch.float64), torch.tensor([6, 2, 4])
    out = layer(x, lengths)
    last = make(positions=positions, causal=causal, max_length=10)(x, lengths)
    for row, length in enumerate(lengths.tolist()):
        want = naive(layer, x[row, :length])
        torch.testing.assert_close(out[row, :length], want, atol=1e-10, rtol=1e-9)
        assert (out[row, length:] == 0).all()
        torch.testing.assert_close(last[row], want[-1], atol=1e-10, rtol=1e-9)  # the last valid step


def test_causal_outputs_do_not_see_later_steps():
    layer = make(causal=True, return_sequences=True)
    x = torch.randn(2, 7, 3, dtype=torch.float64)
    changed = x.clone()
    changed[:, 4:] += 1.0
    torch.testing.assert_close(layer(x)[:, :4], layer(changed)[:, :4])
    assert not torch.allclose(make(return_sequences=True)(x)[:, :4], make(return_sequences=True)(changed)[:, :4])


def test_gradcheck():
    torch.manual_seed(0)
    layer = rnnzoo.Transformer(4, heads=2, blocks=1, feedforward=6, input_dim=3, return_sequences=True).double()
    x = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([4, 2])
    names = [name for name, _ in layer.named_parameters()]

    def run(x, *weights):
        return torch.func.functional_call(layer, dict(zip(names, weights)), (x, lengths))

    assert torch.autograd.gradcheck(run, (x, *layer.parameters()))


def test_dropout_trains_and_is_off_at_inference():
    layer = make(dropout=0.5, return_sequences=True)
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    layer.eval()
    torch.testing.assert_close(layer(x), layer(x))
    layer.train()
    assert not torch.equal(layer(x), layer(x))


def test_parameter_count_and_toml():
    layer = rnnzoo.Transformer(64, heads=4, blocks=2, input_dim=28)
    per_block = 2 * 64 * 2 + (64 * 192 + 192) + (64 * 64 + 64) + (64 * 256 + 256) + (256 * 64 + 64)
    assert layer.count_params() == (28 * 64 + 64) + 2 * per_block + 2 * 64
    experiment = parse({"name": "attention", "model": {"input": [28], "layers": [
        {"type": "Transformer", "units": 16, "heads": 2, "causal": True}, {"type": "Dense", "units": 10}]}})
    assert experiment.build_model()(torch.randn(2, 5, 28)).shape == (2, 10)


@pytest.mark.parametrize("options, message", [
    (dict(units=10, heads=4), "units must be divisible by heads"),
    (dict(units=8, positions="rotary"), "positions must be one of"),
    (dict(units=8, positions="learned"), "needs max_length"),
    (dict(units=8, blocks=0), "blocks must be a positive integer"),
    (dict(units=8, dropout=1.0), r"dropout must be in \[0, 1\)"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        rnnzoo.Transformer(**options)
    with pytest.raises(ConfigError, match=message):
        parse({"name": "bad", "model": {"input": [28], "layers": [{"type": "Transformer", **options}]}})


def test_inputs_longer_than_learned_positions_are_refused():
    layer = rnnzoo.Transformer(8, heads=2, positions="learned", max_length=5, input_dim=3)
    with pytest.raises(ValueError, match="learned positions for 5 steps, got 6"):
        layer(torch.randn(1, 6, 3))
