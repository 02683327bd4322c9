"""The Dropout layer's counter-based mask: native == tensor code bit for bit, Keras' statistics,
reproducible under torch.manual_seed, and a backward pass that is the same mask."""

import math

import pytest
import torch

import rnnzoo
from rnnzoo.kernels import build, dropout

SHAPES = [(1,), (7,), (64, 28, 256), (3, 1001, 33)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("rate", [0.2, 0.3, 0.5, 0.95])
def test_native_mask_equals_tensor_mask(native, dtype, shape, rate):
    x = torch.randn(shape, dtype=dtype)
    keys = (0x12345678, 0xFEDCBA98)
    mask = (*keys, round(rate * 2**24), 1 / (1 - rate))
    assert torch.equal(native.dropout(x, *mask), dropout.apply_mask_tensor(x, *mask))


@pytest.mark.parametrize("rate", [0.2, 0.5, 0.9])
def test_keeps_one_minus_rate_and_scales_the_rest(rate):
    torch.manual_seed(0)
    n = 200_000
    y = dropout.dropout(torch.ones(n), rate)
    kept = y != 0
    assert torch.allclose(y[kept], torch.tensor(1 / (1 - rate)))
    sigma = math.sqrt(rate * (1 - rate) / n)
    assert abs(kept.double().mean().item() - (1 - rate)) < 5 * sigma


def test_mask_bits_look_independent():
    """Neighbouring elements and the same element in consecutive calls are uncorrelated."""
    torch.manual_seed(0)
    a = (dropout.dropout(torch.ones(100_000), 0.5) != 0).double()
    b = (dropout.dropout(torch.ones(100_000), 0.5) != 0).double()
    limit = 5 / math.sqrt(100_000)
    assert abs(torch.corrcoef(torch.stack([a[:-1], a[1:]]))[0, 1]) < limit
    assert abs(torch.corrcoef(torch.stack([a, b]))[0, 1]) < limit
    rows = a.view(100, 1000).mean(1)  # no drift along the index
    assert (rows - 0.5).abs().max() < 6 * math.sqrt(0.25 / 1000)


def test_same_seed_same_mask_new_call_new_mask():
    x = torch.randn(64, 28, 256)
    torch.manual_seed(3)
    first, second = dropout.dropout(x, 0.3), dropout.dropout(x, 0.3)
    torch.manual_seed(3)
    assert torch.equal(dropout.dropout(x, 0.3), first)
    assert not torch.equal(first, second)


def test_same_mask_with_and_without_the_native_kernels(monkeypatch):
    x = torch.randn(8, 5, 16)
    torch.manual_seed(1)
    with_native = dropout.dropout(x, 0.4)
    monkeypatch.setitem(build._state, "native", None)
    torch.manual_seed(1)
    assert torch.equal(dropout.dropout(x, 0.4), with_native)


def test_backward_is_the_same_mask():
    x = torch.randn(6, 9, 11, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(2)
    y = dropout.dropout(x, 0.3)
    grad = torch.randn_like(y)
    y.backward(grad)
    scale = torch.where(y != 0, 1 / 0.7, 0.0)  # x has no zeros: y == 0 exactly where dropped
    torch.testing.assert_close(x.grad, grad * scale)
    key = torch.randint(0, 2**32, (2,))
    assert torch.autograd.gradcheck(
        lambda v: dropout.CounterDropout.apply(v, int(key[0]), int(key[1]), round(0.3 * 2**24), 1 / 0.7), (x,))


def test_non_contiguous_input_masks_by_logical_index():
    x = torch.randn(28, 64, 32)
    torch.manual_seed(4)
    a = dropout.dropout(x.transpose(0, 1), 0.5)
    torch.manual_seed(4)
    b = dropout.dropout(x.transpose(0, 1).contiguous(), 0.5)
    assert torch.equal(a, b)


def test_layer_uses_it_in_training_only():
    layer = rnnzoo.Dropout(0.25)
    x = torch.randn(32, 40)
    torch.manual_seed(5)
    expected = dropout.dropout(x, 0.25)
    torch.manual_seed(5)
    assert torch.equal(layer(x), expected)
    layer.eval()
    assert layer(x) is x
    assert rnnzoo.Dropout(0.0)(x) is x
