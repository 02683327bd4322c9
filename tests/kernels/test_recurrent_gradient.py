"""The recurrent kernel's gradient dU = Σ h_{t-1}ᵀ dZ_t: one product of depth B·T after the loop, on
whichever GEMM is fastest for its shape, and the same sums on each."""

import json

import pytest
import torch

import rnnzoo
from rnnzoo.kernels import calibration, fused


def reference(Y, h0, dr):
    """The sum over sequences and steps, one outer product at a time, in float64."""
    Y, h0, dr = Y.double(), h0.double(), dr.double()
    dU = torch.zeros(Y.shape[2], dr.shape[2], dtype=torch.float64)
    for b in range(Y.shape[0]):
        for t in range(Y.shape[1]):
            h_prev = h0[b] if t == 0 else Y[b, t - 1]
            dU += torch.outer(h_prev, dr[b, t])
    return dU, dr.sum((0, 1))


@pytest.fixture(params=["native", "blas"])
def engine(request, native, kernel_settings):
    kernel_settings(gemm=request.param)
    return fused.NativeEngine(native)


@pytest.mark.parametrize("start", ["zero", "given"])
@pytest.mark.parametrize("steps", [1, 2, 11])
@pytest.mark.parametrize("apart", [False, True])
def test_matches_the_sum_of_outer_products(engine, start, steps, apart):
    torch.manual_seed(steps)
    B, units, width = 13, 40, 120  # neither a multiple of a tile
    Y, dr = torch.randn(B, steps, units), torch.randn(B, steps, width)
    h0 = torch.zeros(B, units) if start == "zero" else torch.randn(B, units)
    # apart: dr's last block given on its own, as GRU's backward keeps its h~ block; the columns
    # where it begins (80) fall inside a panel of the product's packed dr
    dr_h = torch.randn(B, steps, units) if apart else None
    dU, dbrec = engine.recurrent_gradient(Y, h0, dr, has_brec=True, dr_h=dr_h)
    want_dU, want_dbrec = reference(Y, h0, dr if dr_h is None else torch.cat([dr[..., :width - units], dr_h], 2))
    torch.testing.assert_close(dU.double(), want_dU, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(dbrec.double(), want_dbrec, rtol=1e-5, atol=1e-4)
    assert engine.recurrent_gradient(Y, h0, dr, has_brec=False, dr_h=dr_h)[1] is None


@pytest.mark.parametrize("start", ["zero", "given"])
@pytest.mark.parametrize("steps", [1, 2, 11])
def test_the_input_kernels_gradient_from_the_same_product(native, start, steps):
    """Given the inputs x, one product [h_{t-1} | x_t]ᵀ dZ makes dU and dW = Σ x_tᵀ dZ_t: x_0's rows count
    in dW even where h_0 is zero, and the column sums are over every step."""
    torch.manual_seed(steps)
    B, units, features, width = 13, 43, 7, 172  # a strip of S straddles h's and x's columns, AVX2's or AVX-512's
    Y, dr, x = torch.randn(B, steps, units), torch.randn(B, steps, width), torch.randn(B, steps, features)
    h0 = torch.zeros(B, units) if start == "zero" else torch.randn(B, units)
    dU, sums, dW = native.recurrent_gradient(Y=Y, h0=h0, dr=dr, has_brec=True, x=x)
    want_dU, want_sums = reference(Y, h0, dr)
    want_dW = x.double().reshape(-1, features).t() @ dr.double().reshape(-1, width)
    for got, want in ((dU, want_dU), (dW, want_dW), (sums, want_sums)):
        torch.testing.assert_close(got.double(), want, rtol=1e-5, atol=1e-4)
    assert native.recurrent_gradient(Y=Y, h0=h0, dr=dr, has_brec=False, x=x)[1] is None
    with pytest.raises(RuntimeError, match="without dr_h"):
        native.recurrent_gradient(Y=Y, h0=h0, dr=dr, dr_h=Y.clone(), has_brec=False, x=x)


@pytest.mark.parametrize("layer", ["LSTM", "SimpleRNN"])
def test_a_layers_kernel_gradients_from_one_product_equal_two_products(native, kernel_settings, layer, monkeypatch):
    """Where the loop made the projection, calibration chooses between one product for dU and dW and a
    product each: the same values either way (up to the order of the B·T terms), here all on the native
    GEMM, and the layer asks it once per call."""
    torch.manual_seed(0)
    x = torch.randn(9, 12, 5)
    lengths = torch.tensor([12, 3, 7, 12, 1, 9, 12, 5, 10])  # padded steps: zero rows of dZ, and of x
    x = x * (torch.arange(12)[None, :, None] < lengths[:, None, None])
    grads, asked = {}, []
    for choice in ("native", "separate"):
        def choose(product, rows, depth, width, runners, choice=choice):
            asked.append((product, depth, tuple(runners)))
            return choice if product == "kernel_grads" else "native"

        monkeypatch.setattr(calibration, "choose", choose)
        monkeypatch.setattr(calibration, "known", lambda *a: None)  # nothing timed: the products one by one
        kernel_settings(gemm="auto")
        torch.manual_seed(1)
        model = getattr(rnnzoo, layer)(24, return_sequences=True)
        model(x, mask=torch.arange(12)[None] < lengths[:, None]).square().sum().backward()
        grads[choice] = {name: p.grad for name, p in model.named_parameters()}
    assert asked.count(("kernel_grads", 24 + 5, ("native", "separate"))) == 2
    assert set(grads["native"]) == {"cell.kernel", "cell.recurrent_kernel", "cell.bias"}
    for name in grads["native"]:
        torch.testing.assert_close(grads["native"][name], grads["separate"][name], rtol=1e-5, atol=1e-5)


def test_reads_the_states_of_a_window_of_a_longer_output(engine):
    whole = torch.randn(5, 9, 16)
    Y = whole[:, 2:6]  # sequences 9·16 floats apart, as forward may leave them
    h0, dr = torch.randn(5, 16), torch.randn(5, 4, 48)
    dU, _ = engine.recurrent_gradient(Y, h0, dr, has_brec=False)
    torch.testing.assert_close(dU.double(), reference(Y, h0, dr)[0], rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "SimpleRNN"])
def test_a_layer_trains_to_the_same_gradients_on_either_gemm(native, kernel_settings, layer):
    torch.manual_seed(0)
    x = torch.randn(8, 12, 5)
    grads = {}
    for gemm in ("native", "blas"):
        kernel_settings(gemm=gemm)
        torch.manual_seed(1)
        model = getattr(rnnzoo, layer)(24, return_sequences=True)
        model(x).square().sum().backward()
        grads[gemm] = {name: p.grad for name, p in model.named_parameters()}
    for name in grads["native"]:  # rounding apart: the two GEMMs add the B·T terms in other orders
        torch.testing.assert_close(grads["native"][name], grads["blas"][name], rtol=1e-4, atol=1e-4)


def test_the_engine_is_timed_once_per_shape_and_kept(native, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNZOO_CALIBRATION_DIR", str(tmp_path))
    monkeypatch.setattr(calibration, "_state", {"path": None, "said": False})
    monkeypatch.setattr(calibration, "_chosen", {})
    monkeypatch.setattr(calibration, "_answers", {})
    model = rnnzoo.GRU(32)
    model(torch.randn(6, 10, 3)).sum().backward()
    kept = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert kept["recurrent_grad rows<=256 depth=32 width=96"] in ("native", "blas")
