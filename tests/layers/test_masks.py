"""Keras masks (holes anywhere, left padding): against the float64 naive reference one sequence at
a time, fused equals reference (values and gradients) and really runs fused, and the Masking layer
and Sequential hand the mask on as Keras does."""

import pytest
import torch

import rnnzoo
from rnnzoo.layers import masking

from . import reference

LAYERS = {"SimpleRNN": rnnzoo.SimpleRNN, "LSTM": rnnzoo.LSTM, "GRU": rnnzoo.GRU}
MASK = torch.tensor([[1, 0, 1, 1, 0, 1, 0], [0, 0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0],
                     [0, 1, 0, 0, 0, 0, 0]], dtype=torch.bool)
B, T, F, U = *MASK.shape, 3, 4


def make(kind, backend="reference", **options):
    torch.manual_seed(1)
    layer = LAYERS[kind](U, input_dim=F, backend=backend, **options).double()
    with torch.no_grad():  # random biases, so a bias in the wrong place shows
        layer.cell.bias.normal_()
    return layer


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("backend", ["reference", "fused"])
def test_masked_batch_equals_the_valid_steps_alone_float64(kind, go_backwards, backend):
    layer = make(kind, backend, return_sequences=True, return_state=True, go_backwards=go_backwards)
    x = torch.randn(B, T, F, dtype=torch.float64)
    outputs, *state = layer(x, mask=MASK)
    mask = MASK.flip(1) if go_backwards else MASK  # outputs come in reading order
    for b in range(B):
        valid = x[b][MASK[b]]
        if len(valid) == 0:  # nothing read: zero state and outputs
            assert outputs[b].abs().max() == 0 and all(s[b].abs().max() == 0 for s in state)
            continue
        expected, expected_state = reference.run(layer, valid)
        torch.testing.assert_close(outputs[b][mask[b]], expected, rtol=1e-12, atol=1e-12)
        for ours, theirs in zip(state, expected_state):
            torch.testing.assert_close(ours[b], theirs, rtol=1e-12, atol=1e-12)
        # a masked step repeats the previous output (zeros before the first valid step)
        seen = mask[b].long().cumsum(0)
        for t in range(T):
            if not mask[b, t]:
                previous = expected[seen[t] - 1] if seen[t] > 0 else torch.zeros(U, dtype=torch.float64)
                torch.testing.assert_close(outputs[b, t], previous)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_fused_equals_reference_with_gradients(kind, return_sequences, zero_output_for_mask):
    options = dict(return_sequences=return_sequences, return_state=True, zero_output_for_mask=zero_output_for_mask)
    slow, fast = make(kind, "reference", **options), make(kind, "fused", **options)
    x = torch.randn(B, T, F, dtype=torch.float64)
    h0 = torch.randn(B, U, dtype=torch.float64)  # the fully masked row keeps its initial state
    initial = [h0, h0.flip(0)][:slow.cell.state_count]
    assert fast.plan(x, mask=MASK).route == "kernels"  # the fused path really runs
    results = []
    for layer in (slow, fast):
        xg = x.clone().requires_grad_()
        out = layer(xg, initial_state=initial, mask=MASK)
        sum(o.square().sum() for o in out).backward()
        results.append((out, xg.grad, [p.grad for p in layer.parameters()]))
    (out_s, dx_s, dw_s), (out_f, dx_f, dw_f) = results
    for a, b in zip(out_s, out_f):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(dx_s, dx_f, rtol=1e-10, atol=1e-12)
    for a, b in zip(dw_s, dw_f):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(out_f[1][3], h0[3])  # no valid step: the initial state comes back


def test_end_padded_mask_equals_lengths_forwards():
    layer = make("LSTM", return_sequences=True)
    x = torch.randn(3, T, F, dtype=torch.float64)
    lengths = torch.tensor([7, 2, 5])
    mask = torch.arange(T) < lengths[:, None]
    by_mask, by_lengths = layer(x, mask=mask), layer(x, lengths=lengths)
    torch.testing.assert_close(by_mask[mask], by_lengths[mask])


def test_bad_masks_are_refused_in_one_line():
    layer = make("GRU")
    x = torch.randn(B, T, F, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"mask must have shape \(5, 7\)"):
        layer(x, mask=MASK[:, :3])
    with pytest.raises(ValueError, match="mask must be boolean"):
        layer(x, mask=MASK.double())
    with pytest.raises(ValueError, match="lengths .* or mask, not both"):
        layer(x, lengths=torch.full((B,), T), mask=MASK)


def test_masking_layer_makes_the_mask_and_zeroes_masked_steps():
    x = torch.randn(B, T, F)
    x[~MASK] = 1.5
    layer = rnnzoo.Masking(1.5)
    assert torch.equal(layer.compute_mask(x), MASK)
    assert torch.equal(layer(x)[~MASK], torch.zeros_like(x[~MASK]))


def test_sequential_hands_the_mask_on_like_keras():
    torch.manual_seed(0)
    x = torch.randn(B, T, F, dtype=torch.float64)
    x[~MASK] = 0.0
    model = rnnzoo.Sequential([rnnzoo.Input((None, F)), rnnzoo.Masking(), rnnzoo.LSTM(U, return_sequences=True),
                               rnnzoo.Dropout(0.1), rnnzoo.GRU(U), rnnzoo.Dense(2)]).double().eval()
    lstm, _, gru, dense = model.layers[1:]
    expected = dense(gru(lstm(x, mask=MASK), mask=MASK))
    torch.testing.assert_close(model(x), expected)
    assert not torch.allclose(model(x), dense(gru(lstm(x))))  # the mask changes the result
    torch.testing.assert_close(model(x), model(x, mask=MASK))  # a given mask works the same


def test_sequential_refuses_a_mask_for_a_layer_that_cannot_take_one():
    model = rnnzoo.Sequential([rnnzoo.Input((None, F)), rnnzoo.Masking(), rnnzoo.MinGRU(U)])
    with pytest.raises(ValueError, match="'min_gru' \\(MinGRU\\) cannot take a mask"):
        model(torch.randn(B, T, F))


def test_compact_and_spread_round_trip():
    x = torch.arange(B * T, dtype=torch.float64).view(B, T, 1)
    packed, lengths = masking.compact(x, MASK)
    assert lengths.tolist() == [4, 4, 7, 1, 1]
    assert packed[0, :4, 0].tolist() == [0, 2, 3, 5]
    spread = masking.spread(packed, MASK)
    assert spread[0, :, 0].tolist() == [0, 0, 2, 3, 3, 5, 5]
    assert spread[1, :, 0].tolist() == [0, 0, 0, 10, 11, 12, 13]  # zeros before the first valid step
