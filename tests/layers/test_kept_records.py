"""What a recurrent layer keeps from call to call (the cell's record, the plan, the zero state) is
given again only while it is still right: every change a user can make shows in the next call."""

import copy

import pytest
import torch

import rnnzoo
from rnnzoo import kernels
from rnnzoo.layers import activations
from rnnzoo.layers.lstm import LSTMCell

from . import reference

LAYERS = {"SimpleRNN": rnnzoo.SimpleRNN, "LSTM": rnnzoo.LSTM, "GRU": rnnzoo.GRU}
B, T, F, U = 4, 5, 3, 8
TOL = dict(atol=1e-5, rtol=1e-5)


def make(kind, **options):
    torch.manual_seed(0)
    layer = LAYERS[kind](U, input_dim=F, return_sequences=True, **options)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return layer


def x(batch=B, dtype=torch.float32):
    return torch.randn(batch, T, F, generator=torch.Generator().manual_seed(1), dtype=dtype)


def expected(layer, inputs):
    """The reference loop's outputs for the layer's current weights and settings."""
    return torch.stack([reference.run(layer, sequence)[0] for sequence in inputs]).to(inputs.dtype)


def reference_gradients(layer, inputs):
    twin = copy.deepcopy(layer)
    twin.backend = "reference"
    twin(inputs).square().sum().backward()
    return {name: p.grad for name, p in twin.named_parameters()}


@pytest.mark.parametrize("kind", LAYERS)
def test_an_unchanged_layer_gets_the_same_record_and_plan_again(kind):
    layer, inputs = make(kind), x()
    assert layer.cell.describe() is layer.cell.describe()
    assert layer.plan(inputs) is layer.plan(inputs)
    layer(inputs)
    assert layer._initial_state(None, B, inputs) is layer._initial_state(None, B, inputs)


@pytest.mark.parametrize("kind", LAYERS)
def test_a_new_activation_is_used_from_the_next_call(kind):
    layer, inputs = make(kind), x()
    layer(inputs)
    layer.cell.activation, layer.cell.activation_name = activations.get("relu"), "relu"
    assert layer.cell.describe().activation_code == kernels.ACTIVATION_CODES["relu"]
    torch.testing.assert_close(layer(inputs), expected(layer, inputs), **TOL)


@pytest.mark.parametrize("kind", LAYERS)
def test_weights_swapped_under_the_parameters_are_used_from_the_next_call(kind):
    """`.data` swaps (GRU's biases are views of its bias parameter) and reassigned parameters."""
    layer, inputs = make(kind), x()
    layer(inputs)
    layer.cell.bias.data = torch.randn_like(layer.cell.bias)
    torch.testing.assert_close(layer(inputs), expected(layer, inputs), **TOL)
    layer.cell.kernel = torch.nn.Parameter(torch.randn_like(layer.cell.kernel))
    torch.testing.assert_close(layer(inputs), expected(layer, inputs), **TOL)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("before", ["no_grad", "inference_mode"])
def test_gradients_reach_every_weight_after_calls_without_them(kind, before):
    layer, inputs = make(kind), x()
    with getattr(torch, before)():
        layer(inputs)
    layer(inputs).square().sum().backward()
    want = reference_gradients(layer, inputs)
    for name, p in layer.named_parameters():
        torch.testing.assert_close(p.grad, want[name], **TOL)


def test_a_frozen_bias_gets_no_gradient_after_calls_that_gave_it_one():
    layer, inputs = make("GRU"), x()
    layer(inputs).sum().backward()
    layer.zero_grad(set_to_none=True)
    layer.cell.bias.requires_grad_(False)
    layer(inputs).sum().backward()
    assert layer.cell.bias.grad is None
    assert layer.cell.kernel.grad is not None


@pytest.mark.parametrize("kind", LAYERS)
def test_a_layer_moved_to_float64_runs_in_float64(kind):
    layer, inputs = make(kind), x()
    layer(inputs)
    layer.double()
    inputs = inputs.double()
    output = layer(inputs)
    assert output.dtype == torch.float64
    torch.testing.assert_close(output, expected(layer, inputs), atol=1e-10, rtol=1e-10)


def test_a_copy_keeps_to_its_own_weights():
    layer, inputs = make("GRU"), x()
    layer(inputs).sum().backward()  # the kept record's bias views now have a grad_fn
    twin = copy.deepcopy(layer)
    with torch.no_grad():
        twin.cell.bias.add_(1.0)
    torch.testing.assert_close(twin(inputs), expected(twin, inputs), **TOL)
    torch.testing.assert_close(layer(inputs), expected(layer, inputs), **TOL)


def test_other_batch_sizes_and_settings_are_planned_again():
    layer = make("LSTM")
    first = layer.plan(x())
    assert layer.plan(x(batch=2)) is not first
    with kernels.configure(projection="hoisted"):
        assert layer.plan(x()).projection == "hoisted"
    assert layer.plan(x()).projection == "in_loop"
    torch.testing.assert_close(layer(x(batch=2)), expected(layer, x(batch=2)), **TOL)


class DoubledBiasCell(LSTMCell):
    """An LSTM whose input bias is made from its parameter, not a view of it."""

    fused_kind = kernels.Kind.LSTM

    def input_bias(self):
        return 2 * self.bias


def test_a_cell_that_computes_its_bias_gets_a_new_record_every_call():
    torch.manual_seed(0)
    layer = rnnzoo.RNN(DoubledBiasCell(U), return_sequences=True, backend="fused")
    inputs = x()
    layer(inputs)
    assert layer.cell.describe() is not layer.cell.describe()
    with torch.no_grad():
        layer.cell.bias.add_(0.5)  # in place, as an optimizer step
    want = rnnzoo.RNN(LSTMCell(U), return_sequences=True, backend="reference")
    want.build((None, T, F))
    with torch.no_grad():
        want.cell.kernel.copy_(layer.cell.kernel)
        want.cell.recurrent_kernel.copy_(layer.cell.recurrent_kernel)
        want.cell.bias.copy_(2 * layer.cell.bias)
    torch.testing.assert_close(layer(inputs), want(inputs), **TOL)


class LearnedStartCell(LSTMCell):
    """An LSTM that starts from a state of its own instead of zeros."""

    fused_kind = kernels.Kind.LSTM

    def initial_state(self, batch, like):
        return tuple(torch.full((batch, self.units), 0.5, dtype=like.dtype) for _ in range(2))


def test_a_cell_with_its_own_initial_state_is_asked_for_it_every_call():
    torch.manual_seed(0)
    layer = rnnzoo.RNN(LearnedStartCell(U), return_sequences=True)
    inputs = x()
    layer(inputs)
    assert layer._initial_state(None, B, inputs) is not layer._initial_state(None, B, inputs)
    torch.testing.assert_close(layer(inputs)[:, 0], layer(inputs, initial_state=[torch.full((B, U), 0.5)] * 2)[:, 0])
