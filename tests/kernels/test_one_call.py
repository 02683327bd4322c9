"""A layer's backward in one native call: where every gradient product runs on rnnzoo's GEMM, the
recurrence's backward makes dU, and after an in-loop projection dX and dW, before it returns
(NativeEngine.one_call). The same kernels as the products one by one, so the same bits."""

import pytest
import torch

import rnnzoo
from rnnzoo.kernels import calibration, fused


def gradients(make_layer, x, mask=None, one_call=True):
    """The layer's parameters' gradients and x's (where x wants one) after one backward pass, with the
    products in one call where they may be, or (one_call=False) one by one."""
    with pytest.MonkeyPatch.context() as patch:
        if not one_call:
            patch.setattr(fused.NativeEngine, "one_call", staticmethod(lambda *a: None))
        torch.manual_seed(1)
        layer = make_layer()
        x = x.detach().clone().requires_grad_(x.requires_grad)
        layer(x, mask=mask).square().sum().backward()
    made = {name: p.grad for name, p in layer.named_parameters() if p.grad is not None}
    if x.grad is not None:
        made["x"] = x.grad
    return made


def assert_same_bits(one, steps):
    assert one.keys() == steps.keys()
    for name in one:
        assert torch.equal(one[name], steps[name]), name


@pytest.mark.parametrize("layer", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("joint", ["native", "separate"])
@pytest.mark.parametrize("wants", ["everything", "no input gradient", "no bias"])
def test_one_call_gives_the_bits_of_the_products_one_by_one(native, kernel_settings, monkeypatch, layer, joint,
                                                            wants):
    kernel_settings(gemm="auto")
    # calibration chose the native GEMM for every product, and (joint) whether dU and dW are one product
    # (not GRU's, whose dW stays apart)
    monkeypatch.setattr(calibration, "known", lambda product, *a: joint if product == "kernel_grads" else "native")
    monkeypatch.setattr(calibration, "choose", lambda product, *a: joint if product == "kernel_grads" else "native")
    torch.manual_seed(0)
    x = torch.randn(9, 12, 5, requires_grad=wants != "no input gradient")
    lengths = torch.tensor([12, 3, 7, 12, 1, 9, 12, 5, 10])  # padded steps: zero rows of dZ
    mask = torch.arange(12)[None] < lengths[:, None]

    def make_layer():
        return getattr(rnnzoo, layer)(24, return_sequences=True, input_dim=5, use_bias=wants != "no bias")

    asked = []
    one_call = fused.NativeEngine.one_call
    monkeypatch.setattr(fused.NativeEngine, "one_call", staticmethod(lambda *a: asked.append(one_call(*a)) or asked[-1]))
    one = gradients(make_layer, x, mask)
    assert asked == [joint == "native" and layer != "GRU"]
    steps = gradients(make_layer, x, mask, one_call=False)
    assert_same_bits(one, steps)
    assert ("x" in one) == (wants != "no input gradient")
    assert ("cell.bias" in one) == (wants != "no bias")


@pytest.mark.parametrize("layer", ["SimpleRNN", "LSTM", "GRU"])
def test_after_a_hoisted_projection_one_call_makes_du(native, kernel_settings, monkeypatch, layer):
    kernel_settings(gemm="native", projection="hoisted")
    x = torch.randn(6, 7, 3, requires_grad=True)

    def make_layer():
        return getattr(rnnzoo, layer)(16, return_sequences=True, input_dim=3)

    assert_same_bits(gradients(make_layer, x), gradients(make_layer, x, one_call=False))


def test_a_product_on_another_engine_or_not_timed_yet_runs_on_its_own(native, kernel_settings, tmp_path, monkeypatch):
    Y, U = torch.zeros(4, 5, 8), torch.zeros(8, 24)
    x = torch.zeros(4, 5, 3)
    cell = rnnzoo.GRU(8, input_dim=3).cell.record()
    kernel_settings(gemm="blas")
    assert fused.NativeEngine.one_call(cell, Y, U, x, True, True, True) is None
    kernel_settings(gemm="native")
    assert fused.NativeEngine.one_call(cell, Y, U, x, True, True, True) is False  # GRU's dW: a product of its own
    assert fused.NativeEngine.one_call(cell, Y, U, None, False, False, False) is False  # a hoisted projection
    # the bias's gradient without the kernel's (a frozen kernel): column sums, made apart
    assert fused.NativeEngine.one_call(cell, Y, U, x, False, False, True) is None
    kernel_settings(gemm="auto")  # on a machine that has timed nothing yet
    monkeypatch.setattr(calibration, "_path", lambda: tmp_path / "calibration.json")
    for name, empty in (("_state", {"path": None, "said": False}), ("_chosen", {}), ("_used", {}), ("_answers", {})):
        monkeypatch.setattr(calibration, name, empty)
    assert fused.NativeEngine.one_call(cell, Y, U, x, True, True, True) is None  # timed by the products one by one
