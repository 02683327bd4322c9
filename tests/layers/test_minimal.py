"""minGRU and minLSTM: the scan and the step-by-step loop against a naive float64 reference.

The reference is written from the paper's equations, one sequence and one step at a time, with
every block its own product; the layers compute a and b for all steps at once, and the scan works
in log space, so agreement checks both.
"""

import pytest
import torch

import rnnzoo
from rnnzoo.config import ConfigError, parse

LAYERS = {"MinGRU": rnnzoo.MinGRU, "MinLSTM": rnnzoo.MinLSTM}
BACKENDS = ["auto", "reference"]


def g(v):
    return v + 0.5 if v >= 0 else 1 / (1 + torch.exp(-v))


def naive(layer, x, h0=None):
    """One sequence x (T, F) in float64: its outputs (T, U)."""
    W = layer.kernel.detach().double()
    b = layer.bias.detach().double() if layer.bias is not None else torch.zeros(W.shape[1], dtype=torch.float64)
    blocks = list(zip(W.chunk(layer.gates, dim=1), b.chunk(layer.gates)))
    h = torch.zeros(layer.units, dtype=torch.float64) if h0 is None else h0.double()
    steps = x.double().flip(0) if layer.go_backwards else x.double()
    outputs = []
    for x_t in steps:
        v, *k = [x_t @ W_j + b_j for W_j, b_j in blocks]
        candidate = torch.stack([g(value) for value in v])
        if isinstance(layer, rnnzoo.MinGRU):
            z = torch.sigmoid(k[0])
            h = (1 - z) * h + z * candidate
        else:
            f, i = torch.sigmoid(k[0]), torch.sigmoid(k[1])
            h = f / (f + i) * h + i / (f + i) * candidate
        outputs.append(h)
    return torch.stack(outputs)


def make(kind, dtype=torch.float64, **options):
    torch.manual_seed(0)
    layer = LAYERS[kind](5, input_dim=4, **options).to(dtype)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.3 * torch.randn_like(p))  # biases not zero
    return layer


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
def test_equals_the_naive_reference_per_sequence_with_padding(kind, backend, go_backwards, use_bias):
    """A padded batch gives every sequence what it gives alone: outputs, zeros past its end, final state."""
    layer = make(kind, backend=backend, go_backwards=go_backwards, use_bias=use_bias, return_sequences=True,
                 return_state=True)
    torch.manual_seed(1)
    x, lengths = torch.randn(4, 7, 4, dtype=torch.float64), torch.tensor([7, 1, 4, 6])
    outputs, final = layer(x, lengths)
    for row, length in enumerate(lengths.tolist()):
        want = naive(layer, x[row, :length])
        torch.testing.assert_close(outputs[row, :length], want, atol=1e-12, rtol=1e-10)
        assert (outputs[row, length:] == 0).all()
        torch.testing.assert_close(final[row], want[-1], atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("sign", [1.0, -1.0])  # the scan keeps h_0 outside the logs: either sign is exact
def test_the_scan_equals_the_loop_from_a_given_state(kind, sign):
    scan, loop = make(kind, return_sequences=True), make(kind, return_sequences=True, backend="reference")
    torch.manual_seed(2)
    x = torch.randn(3, 40, 4, dtype=torch.float64)
    h0 = sign * torch.rand(3, 5, dtype=torch.float64)
    torch.testing.assert_close(scan(x, initial_state=h0), loop(x, initial_state=h0), atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(scan(x, initial_state=h0)[0], naive(scan, x[0], h0[0]), atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("kind", LAYERS)
def test_float32_scan_stays_close_to_the_loop_over_784_steps(kind):
    """Long sequences: the log-space scan subtracts growing logs, so check its float32 error."""
    scan, loop = make(kind, torch.float32, return_sequences=True), make(kind, torch.float32, return_sequences=True,
                                                                       backend="reference")
    x = torch.randn(8, 784, 4, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(scan(x), loop(x), atol=1e-4, rtol=1e-3)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck(kind, backend):
    layer = make(kind, backend=backend, return_sequences=True, return_state=True)
    x = torch.randn(2, 6, 4, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([6, 3])

    def run(x, h0, *weights):
        outputs, final = torch.func.functional_call(layer, dict(zip(("kernel", "bias"), weights)), (x, lengths),
                                                    {"initial_state": h0})
        return outputs, final

    assert torch.autograd.gradcheck(run, (x, h0, *layer.parameters()))


@pytest.mark.parametrize("kind, per_unit", [("MinGRU", 2), ("MinLSTM", 3)])
def test_parameter_counts(kind, per_unit):
    assert LAYERS[kind](64, input_dim=28).count_params() == per_unit * 64 * (28 + 1)
    assert LAYERS[kind](64, input_dim=28, use_bias=False).count_params() == per_unit * 64 * 28


def test_summary_of_a_stack():
    model = rnnzoo.Sequential([rnnzoo.Input(shape=(None, 28)), rnnzoo.MinGRU(64, return_sequences=True),
                               rnnzoo.MinLSTM(64), rnnzoo.Dense(10)])
    assert "Total params: 16,842" in model.summary(print_fn=None)
    assert model(torch.randn(2, 9, 28)).shape == (2, 10)


def test_toml_layer_types():
    experiment = parse({"name": "mins", "model": {"input": [28], "layers": [
        {"type": "MinGRU", "units": 8, "return_sequences": True}, {"type": "MinLSTM", "units": 8},
        {"type": "Dense", "units": 10}]}})
    assert [type(layer).__name__ for layer in experiment.build_model().layers] == ["MinGRU", "MinLSTM", "Dense"]
    with pytest.raises(ConfigError, match="units must be a positive integer"):
        parse({"name": "bad", "model": {"input": [28], "layers": [{"type": "MinGRU", "units": 0}]}})


@pytest.mark.parametrize("kind", LAYERS)
def test_bad_input_is_refused_with_one_line(kind):
    layer = LAYERS[kind](4, input_dim=3)
    with pytest.raises(ValueError, match="was built for 3 input features, got 5"):
        layer(torch.randn(2, 4, 5))
    with pytest.raises(ValueError, match=r"expects initial_state of shape \(2, 4\)"):
        layer(torch.randn(2, 4, 3), initial_state=torch.zeros(2, 5))
    with pytest.raises(ValueError, match="backend must be one of"):
        LAYERS[kind](4, backend="fused")


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_the_log_space_scan_of_other_devices_equals_the_linear_one(kind, sign):
    """Off the CPU the layers scan in log space: from log a and log b, h_0 kept outside the logs."""
    from rnnzoo.layers.minimal import scan

    layer = make(kind)
    torch.manual_seed(4)
    z = torch.randn(3, 50, layer.gates * layer.units, dtype=torch.float64)
    h0 = sign * torch.rand(3, layer.units, dtype=torch.float64)
    log_a, log_b = layer.log_coefficients(z)
    a, b = layer.coefficients(z)
    torch.testing.assert_close(log_a.exp(), a, atol=1e-14, rtol=1e-12)
    torch.testing.assert_close(log_b.exp(), b, atol=1e-14, rtol=1e-12)
    torch.testing.assert_close(scan(log_a, log_b, h0), rnnzoo.kernels.linear_scan(a, b, h0), atol=1e-12, rtol=1e-10)
