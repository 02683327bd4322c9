"""The loop's split between threads where the kernels' rule is least sure: a recurrent kernel larger
than a core's L2 with 6 rows a thread or more. There "auto" times rows against units once per shape
class and keeps the faster (fused.py, NativeEngine.split); either way gives the same bits."""

import pytest
import torch

import rnnzoo
from rnnzoo.kernels import calibration, fused

UNITS = 640  # SimpleRNN: a 1.6 MB recurrent kernel, over the rule's 1 MiB


class SplitSpy:
    """The native module, recording the split each forward and backward call is given."""

    def __init__(self, module):
        self.module, self.splits = module, []

    def forward(self, *args):
        self.splits.append(("forward", args[15], args[12]))  # split, save (False: a timing trial or inference)
        return self.module.forward(*args)

    def backward(self, **kwargs):
        self.splits.append(("backward", kwargs["split"], True))
        return self.module.backward(**kwargs)

    def __getattr__(self, name):
        return getattr(self.module, name)


@pytest.fixture
def spied(native, monkeypatch, torch_threads):
    torch_threads(2)
    spy = SplitSpy(native)
    monkeypatch.setattr(fused.build, "native", lambda: spy)
    return spy


def untimed(monkeypatch):
    """Calibration fails the test should it time a split; the gradient products' engines it times as ever."""
    gemms = calibration.fastest
    monkeypatch.setattr(calibration, "fastest", lambda runners, rows: pytest.fail("split timed")
                        if set(runners) == {"rows", "units"} else gemms(runners, rows))


def train_step(layer, x):
    layer.zero_grad(set_to_none=True)
    layer(x).sum().backward()


@pytest.mark.parametrize("faster", ["rows", "units"])
def test_the_faster_split_is_timed_once_kept_and_given_to_forward_and_backward(calibration_folder, spied, monkeypatch,
                                                                              faster):
    timed, gemms = [], calibration.fastest

    def fastest(runners, rows):
        if set(runners) != {"rows", "units"}:
            return gemms(runners, rows)  # the gradient products' engines
        timed.append((sorted(runners), rows))
        for run in runners.values():
            run(rows)  # each way runs the call's first steps
        return faster

    monkeypatch.setattr(calibration, "fastest", fastest)
    torch.manual_seed(0)
    layer, x = rnnzoo.SimpleRNN(UNITS, input_dim=5), torch.randn(12, 20, 5)  # 6 rows a thread
    train_step(layer, x)
    assert timed == [(["rows", "units"], 12)]
    trials, calls = spied.splits[:2], spied.splits[2:]
    assert trials == [("forward", "rows", False), ("forward", "units", False)]
    assert calls == [("forward", faster, True), ("backward", faster, True)]
    splits = {key: way for key, way in calibration.chosen().items() if key.startswith("recurrent_split")}
    assert splits == {f"recurrent_split/2 rows<=16 depth={UNITS} width={UNITS}": faster}
    spied.splits.clear()
    train_step(layer, torch.randn(16, 20, 5))  # the same shape class: not timed again
    with torch.no_grad():
        layer.eval()(x)
    assert timed == [(["rows", "units"], 12)]
    assert spied.splits == [("forward", faster, True), ("backward", faster, True), ("forward", faster, False)]


@pytest.mark.parametrize("units, batch, split", [
    (UNITS, 11, "auto"),   # fewer than 6 rows a thread: the rule's units
    (512, 64, "auto"),     # a kernel of 1 MiB, which fits L2: the rule's rows
    (UNITS, 64, "units"),  # a split configured
    (UNITS, 64, "rows"),
])
def test_elsewhere_the_rule_or_the_configured_split_decides_untimed(calibration_folder, spied, monkeypatch,
                                                                   kernel_settings, units, batch, split):
    untimed(monkeypatch)
    kernel_settings(split=split)
    layer = rnnzoo.SimpleRNN(units, input_dim=5)
    train_step(layer, torch.randn(batch, 6, 5))
    assert spied.splits == [("forward", split, True), ("backward", split, True)]
    assert not any(key.startswith("recurrent_split") for key in calibration.chosen())


def test_on_one_thread_nothing_is_timed(calibration_folder, spied, monkeypatch, torch_threads):
    untimed(monkeypatch)
    torch_threads(1)
    train_step(rnnzoo.SimpleRNN(UNITS, input_dim=5), torch.randn(12, 6, 5))
    assert spied.splits == [("forward", "auto", True), ("backward", "auto", True)]


@pytest.mark.parametrize("kind", [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU])
def test_rows_and_units_give_the_same_bits(native, kernel_settings, torch_threads, kind):
    """So the timed choice changes no result: a run resumed on the same machine continues bit for bit
    whichever way a shape was timed, and the float32 products sum in the same order either way."""
    torch_threads(2)
    torch.manual_seed(0)
    layer = kind(320, input_dim=7, return_sequences=True, return_state=True)  # kernels of 0.4-1.6 MB
    x = torch.randn(13, 9, 7)
    results = {}
    for split in ("rows", "units"):
        kernel_settings(split=split)
        inputs = x.clone().requires_grad_()
        layer.zero_grad(set_to_none=True)
        outputs = layer(inputs)
        sum((o * torch.linspace(-1, 1, o.shape[-1])).sum() for o in outputs).backward()
        results[split] = [*(o.detach() for o in outputs), inputs.grad, *(p.grad for p in layer.parameters())]
    assert all(torch.equal(a, b) for a, b in zip(results["rows"], results["units"]))
