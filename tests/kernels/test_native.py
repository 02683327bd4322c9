"""The native kernels really run (a spy) and compute what the hoisted path does (their build: test_build.py)."""

import re

import pytest
import torch

import rnnzoo
from rnnzoo import kernels
from rnnzoo.kernels import build


class Spy:
    def __init__(self, module):
        self.module, self.calls = module, []

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name + (" with gradients" if kwargs.get("gradients") else ""))
            return getattr(self.module, name)(*args, **kwargs)

        return call


@pytest.mark.parametrize("kind", [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU])
@pytest.mark.parametrize("in_loop", [True, False])
def test_fused_native_kernel_really_ran(kind, in_loop, native, kernel_settings, monkeypatch):
    spy = Spy(native)
    monkeypatch.setitem(build._state, "native", spy)
    kernel_settings(projection="auto" if in_loop else "hoisted", gemm="native")  # no other GEMM timed or run
    layer = kind(8, input_dim=3, activation="relu")  # backend="auto"
    monkeypatch.setattr(layer.cell, "step", lambda *a: pytest.fail("the reference loop ran"))
    layer(torch.randn(4, 5, 3, requires_grad=True)).sum().backward()
    # the recurrence (with x_t @ kernel + b inside, in the loop), then its backward, which makes dU (and
    # with the projection in the loop, dX and dW) in the same call: every product is on the native GEMM
    if in_loop:
        assert spy.calls == ["forward", "backward with gradients"]
    else:  # the hoisted projection first, and its backward last: dX and dW
        assert spy.calls == ["matmul", "forward", "backward with gradients", "matmul", "matmul_tn"]


def argument_names(function) -> list[str]:
    """The names of a native entry point's arguments, in order, from the signature pybind11 documents."""
    signature = function.__doc__.split(") ->")[0].split("(", 1)[1]
    return re.findall(r"(?:^|, )(\w+): ", signature)


class ForwardSpy:
    """The native module, recording what `record(arguments, result)` makes of every forward call."""

    def __init__(self, module, record):
        self.module, self.record, self.seen = module, record, []

    def forward(self, *given, **arguments):
        result = self.module.forward(*given, **arguments)
        arguments.update(zip(argument_names(self.module.forward), given))
        self.seen.append(self.record(arguments, result))
        return result

    def __getattr__(self, name):
        return getattr(self.module, name)


@pytest.mark.parametrize("kind", [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU])
@pytest.mark.parametrize("split", ["rows", "units"])
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("start", ["given", "zero"])  # from zero the first step's product is skipped
def test_projection_made_in_the_loop_equals_the_hoisted_one(kind, split, padded, use_bias, start, native,
                                                           kernel_settings, monkeypatch):
    """float32 on the native engine: each step's x_t W + b computed inside the loop gives the same
    outputs, final states and gradients (inputs, initial states, every parameter) as the hoisted
    projection, in training (with input dropout) and at inference; the same products in the same
    order, so to the last bit. (Where the loop made the projection, dU and dW may come from one product
    over every step's rows, h_0's zeros included, where the hoisted path's dU leaves a zero h_0 out: the
    same sums, in the same order while the product's depth is one block of rows, as here.) On rnnzoo's
    GEMM, as "auto" has it where calibration chose native: the hoisted projection's gradients may run
    on another engine (MKL won the 5-wide input gradient on an Intel Xeon with AVX-512), and round
    differently."""
    kernel_settings(split=split, gemm="native")
    torch.manual_seed(0)
    layer = kind(64, input_dim=5, return_sequences=True, return_state=True, use_bias=use_bias, dropout=0.3)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))  # biases not zero
    x = torch.randn(6, 7, 5)
    lengths = torch.tensor([7, 3, 1, 7, 5, 2]) if padded else None
    state = [(torch.randn if start == "given" else torch.zeros)(6, 64) for _ in range(2 if kind is rnnzoo.LSTM else 1)]
    spy = ForwardSpy(native, lambda arguments, _: "x" if arguments["xp"] is None and arguments["x"] is not None else "xp")
    monkeypatch.setitem(build._state, "native", spy)

    def run(in_loop):
        kernel_settings(projection="auto" if in_loop else "hoisted")
        inputs, initial = x.clone().requires_grad_(), [s.clone().requires_grad_() for s in state]
        layer.train()
        torch.manual_seed(5)  # the same dropout masks
        outputs = layer(inputs, lengths=lengths, initial_state=initial)
        loss = sum((o * torch.randn(o.shape, generator=torch.Generator().manual_seed(7))).sum() for o in outputs)
        grads = torch.autograd.grad(loss, [inputs, *initial, *layer.parameters()])
        layer.eval()
        with torch.no_grad():
            inference = layer(x, lengths=lengths, initial_state=state)
        return [o.detach() for o in outputs], grads, inference

    got, want = run(True), run(False)
    assert spy.seen == ["x", "x", "xp", "xp"]  # projected inputs (xp) or the inputs x
    for a, b in zip([*got[0], *got[1], *got[2]], [*want[0], *want[1], *want[2]]):
        assert torch.equal(a, b)


def test_the_kernels_take_either_projected_inputs_or_inputs(native):
    U, h0 = torch.randn(4, 4), torch.zeros(2, 4)
    x, W = torch.randn(2, 3, 5), torch.randn(5, 4)
    simple = dict(kind=0, recurrent_activation=2, activation=1, save=False)
    with pytest.raises(RuntimeError, match="not both"):
        native.forward(**simple, xp=torch.randn(2, 3, 4), x=x, kernel=W, U=U, h0=h0)
    with pytest.raises(RuntimeError, match="float32 only"):
        native.forward(**simple, x=x.double(), kernel=W.double(), U=U.double(), h0=h0.double())
    with pytest.raises(RuntimeError, match=r"kernel \(F, G\*U\)"):
        native.forward(**simple, x=x, kernel=W[:3], U=U, h0=h0)
    with pytest.raises(RuntimeError, match="split must be auto, rows or units, got columns"):
        native.forward(**simple, x=x, kernel=W, U=U, h0=h0, split="columns")


@pytest.mark.parametrize("batch, steps, kernel_kib, expected", [
    (1, 28, 256, "one thread"), (2, 28, 256, "rows"),   # a small kernel: rows however few (docs/kernel-notes.md)
    (8, 28, 64, "rows"),
    (2, 28, 257, "units"), (11, 28, 1024, "units"),     # fewer than 6 rows a thread: units
    (12, 28, 1024, "rows"),                             # 6 rows a thread and the kernel fits L2
    (64, 28, 1025, "units"), (512, 28, 16384, "units"), # beyond L2: units at any batch
    (8, 1, 366, "one thread"), (8, 1, 367, "units"),    # a call's products under 1.5 MFLOP: one thread
    (1, 1, 2929, "one thread"), (1, 1, 2930, "units"),
])
def test_auto_splits_by_rows_for_a_small_kernel_or_enough_rows(native, torch_threads, batch, steps, kernel_kib,
                                                               expected):
    torch_threads(2)
    shape = dict(batch=batch, steps=steps, units=256, kernel_bytes=kernel_kib * 1024)
    assert native.split_of(**shape) == expected
    assert native.split_of(**shape, split="units") == "units"
    assert native.split_of(**shape, split="rows") == ("one thread" if batch == 1 else "rows")


def test_forward_takes_its_arguments_by_name_or_in_their_documented_order(native):
    U, h0, xp = torch.randn(4, 4), torch.zeros(2, 4), torch.randn(2, 3, 4)
    result = native.forward(kind=0, recurrent_activation=2, activation=1, xp=xp, U=U, h0=h0, save=False)
    assert result.Y.shape == (2, 3, 4) and torch.equal(result.h, result.Y[:, -1])
    assert result.c is None and result.C is None and result.gates is None  # SimpleRNN, no backward to come
    named = dict(kind=0, recurrent_activation=2, activation=1, xp=xp, x=None, kernel=None, input_bias=None, U=U,
                 brec=None, h0=h0, c0=None, lengths=None, save=False, out=None, sequence=True, split="auto",
                 keep=None)
    assert argument_names(native.forward) == list(named)  # the order fused.py calls it in
    assert torch.equal(native.forward(*named.values()).Y, result.Y)
    with pytest.raises(TypeError):  # the other entry points by name only
        native.backward(0, 2, 1, U, result.Y, h0)


def test_reference_backend_never_calls_the_kernels(native, monkeypatch):
    spy = Spy(native)
    monkeypatch.setitem(build._state, "native", spy)
    rnnzoo.LSTM(8, input_dim=3, backend="reference")(torch.randn(4, 5, 3)).sum()
    assert spy.calls == []


def test_configure_native_false_leaves_the_native_kernels_out(native, kernel_settings, monkeypatch):
    spy = Spy(native)
    monkeypatch.setitem(build._state, "native", spy)
    kernel_settings(native=False)
    layer = rnnzoo.LSTM(8, input_dim=3, backend="fused")
    x = torch.randn(4, 5, 3, requires_grad=True)
    assert build.native() is None and layer.plan(x).engine == "portable"
    layer(x).sum().backward()
    rnnzoo.Dropout(0.5).train()(x)
    assert spy.calls == []  # no recurrence, projection or dropout mask on the native module


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_runs_under_no_grad_and_inference_mode(mode):
    """The kernels' worker threads inherit the caller's thread-local modes (inference tensors)."""
    torch.manual_seed(0)
    fast = rnnzoo.LSTM(70, input_dim=3, return_sequences=True, backend="fused")
    reference = rnnzoo.LSTM(70, input_dim=3, return_sequences=True, backend="reference")
    reference.load_state_dict(fast.state_dict())
    x = torch.randn(4, 5, 3)
    with mode():
        got, want = fast(x), reference(x)
    torch.testing.assert_close(got, want, atol=2e-5, rtol=2e-4)


@pytest.mark.parametrize("kind", [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU])
def test_inference_keeps_no_gates_and_gives_the_same_outputs(kind, native, monkeypatch):
    torch.manual_seed(0)
    layer = kind(16, input_dim=5, return_sequences=True, return_state=True)
    x, lengths = torch.randn(6, 7, 5), torch.tensor([7, 3, 1, 7, 5, 2])
    spy = ForwardSpy(native, lambda arguments, _: arguments["save"])
    monkeypatch.setitem(build._state, "native", spy)
    training = layer(x, lengths=lengths)  # the parameters need gradients: gates are saved
    with torch.no_grad():
        inference = layer(x, lengths=lengths)
    assert spy.seen == [True, False]
    for a, b in zip(training, inference):
        assert torch.equal(a.detach(), b)
    outputs = native.forward(kind=int(layer.cell.fused_kind), recurrent_activation=2, activation=1,
                             xp=torch.randn(2, 3, 16 * layer.cell.gates), U=layer.cell.recurrent_kernel.detach(),
                             h0=torch.zeros(2, 16), c0=torch.zeros(2, 16) if kind is rnnzoo.LSTM else None, save=False)
    assert outputs.gates is None and outputs.extra is None
    assert (outputs.c is not None) == (kind is rnnzoo.LSTM)


@pytest.mark.parametrize("kind", [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU])
@pytest.mark.parametrize("split", ["rows", "units"])
@pytest.mark.parametrize("steps", [1, 2, 7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_inference_of_the_final_state_keeps_two_steps(kind, split, steps, dtype, native, kernel_settings,
                                                      monkeypatch):
    """A layer that returns only its final state keeps, at inference, a ring of two steps instead of
    all T outputs, and gives the final state it gives in training (padded sequences end anywhere)."""
    kernel_settings(split=split)
    torch.manual_seed(0)
    layer = kind(64, input_dim=5, return_state=True).to(dtype)
    x = torch.randn(6, steps, 5, dtype=dtype)
    lengths = torch.tensor([steps, 1, steps, max(1, steps - 1), 1, steps])
    spy = ForwardSpy(native, lambda _, result: tuple(result.Y.shape))
    monkeypatch.setitem(build._state, "native", spy)
    training = layer(x, lengths=lengths)  # the parameters need gradients: all T outputs are kept
    with torch.no_grad():
        inference = layer(x, lengths=lengths)
    assert spy.seen == [(6, steps, 64), (6, min(steps, 2), 64)]
    for a, b in zip(training, inference):
        assert torch.equal(a.detach(), b)


@pytest.mark.parametrize("kind", [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU])
@pytest.mark.parametrize("split", ["rows", "units"])
def test_forward_writes_into_a_window_of_a_longer_output(kind, split, native):
    """Inference in chunks of time hands each chunk its window of the layer's output (sequences
    T_total·U apart): the kernels write h_1..h_T there, read h_{t-1} back from it, touch nothing else."""
    torch.manual_seed(0)
    cell = kind(64, input_dim=5).cell
    B, T, units = 6, 4, 64
    arguments = dict(
        kind=int(cell.fused_kind), recurrent_activation=2, activation=1, xp=torch.randn(B, T, units * cell.gates),
        U=cell.recurrent_kernel.detach(), brec=torch.randn(units * cell.gates) if kind is rnnzoo.GRU else None,
        h0=torch.randn(B, units), c0=torch.randn(B, units) if kind is rnnzoo.LSTM else None, save=False, split=split)
    want = native.forward(**arguments)
    whole = torch.full((B, 3 * T, units), 7.0)
    got = native.forward(**arguments, out=whole[:, T : 2 * T])
    assert got.Y.data_ptr() == whole[:, T:].data_ptr()  # the window itself, no copy
    assert torch.equal(whole[:, T : 2 * T], want.Y)
    for name in ("h", "c"):
        assert (getattr(got, name) is None and getattr(want, name) is None) or torch.equal(getattr(got, name),
                                                                                          getattr(want, name))
    assert (whole[:, :T] == 7).all() and (whole[:, 2 * T :] == 7).all()
    with pytest.raises(RuntimeError, match=r"out must be \(B, T, U\)"):
        native.forward(**arguments, out=whole[:, :T].transpose(1, 2))


def test_cpu_runs_every_cell_on_rnnzoos_kernels(native):
    """Measured choice (docs/performance.md): on the CPU rnnzoo's kernels beat torch's fused ops, oneDNN's
    LSTM included, so even the standard tanh LSTM that torch could run stays on the kernels."""
    x = torch.randn(4, 5, 3)
    for layer in (rnnzoo.LSTM(8, input_dim=3), rnnzoo.GRU(8, input_dim=3), rnnzoo.SimpleRNN(8, input_dim=3),
                  rnnzoo.LSTM(8, input_dim=3, activation="relu")):
        plan = layer.plan(x)
        assert (plan.route, plan.engine, plan.projection) == ("kernels", "native", "in_loop")

