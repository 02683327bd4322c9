"""The fused runner equals the reference loop: outputs, final states and every gradient.

Each case builds one layer twice with the same weights, `backend="reference"` and
`backend="fused"`, runs both on the same padded batch with an initial state, and compares the
outputs, the final states and the gradients of a random projection of all of them with respect to
the input, the initial state and every parameter.
"""

import pytest
import torch

import rnnzoo
from rnnzoo.kernels import Kind, fused, library, route


@pytest.fixture(autouse=True, params=["kernels", "library"])
def fused_route(request, monkeypatch):
    """Every case twice: on rnnzoo's kernels alone, and with PyTorch's fused ops taking every cell
    they can on this device (on the CPU by default none go there: the kernels are faster)."""
    routes = {"cpu": set()} if request.param == "kernels" else {"cpu": {Kind.SIMPLE, Kind.LSTM, Kind.GRU}}
    monkeypatch.setattr(library, "ROUTES", routes)
    return request.param

LAYERS = {"SimpleRNN": rnnzoo.SimpleRNN, "LSTM": rnnzoo.LSTM, "GRU": rnnzoo.GRU}
NATIVE = ["tanh", "relu", "sigmoid", "linear", "hard_sigmoid"]
B, T, F = 5, 7, 4
LENGTHS = torch.tensor([7, 1, 4, 6, 3])
TOLERANCE = {torch.float64: dict(atol=1e-10, rtol=1e-9), torch.float32: dict(atol=2e-5, rtol=2e-4)}


def pair(kind, units=6, dtype=torch.float64, **options):
    """The same layer twice: reference and fused, random weights (biases too)."""
    torch.manual_seed(0)
    reference = LAYERS[kind](units, input_dim=F, backend="reference", **options)
    with torch.no_grad():
        for p in reference.parameters():
            p.add_(0.1 * torch.randn_like(p))
    fast = LAYERS[kind](units, input_dim=F, backend="fused", **options)
    fast.load_state_dict(reference.state_dict())
    return reference.to(dtype), fast.to(dtype)


def outputs_and_gradients(layer, x, lengths, initial_state):
    x = x.detach().requires_grad_()
    state = [s.detach().requires_grad_() for s in initial_state] if initial_state else None
    result = layer(x, lengths, initial_state=state)
    result = result if isinstance(result, (tuple, list)) else (result,)
    weights = torch.Generator().manual_seed(7)
    loss = sum((r * torch.randn(r.shape, generator=weights, dtype=r.dtype)).sum() for r in result)
    wrt = [x, *(state or []), *layer.parameters()]
    return result, torch.autograd.grad(loss, wrt)


def assert_same(reference, fast, x, lengths=None, initial_state=None):
    tol = TOLERANCE[x.dtype]
    want, want_grads = outputs_and_gradients(reference, x, lengths, initial_state)
    got, got_grads = outputs_and_gradients(fast, x, lengths, initial_state)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **tol)
    for a, b in zip(got_grads, want_grads):
        torch.testing.assert_close(a, b, **tol)


def data(dtype=torch.float64, batch=B, units=6, states=1):
    torch.manual_seed(1)
    x = torch.randn(batch, T, F, dtype=dtype)
    return x, [torch.randn(batch, units, dtype=dtype) for _ in range(states)]


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("activation", NATIVE + ["elu"])  # elu: the pure-PyTorch engine
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_fused_equals_reference_float64(kind, activation, go_backwards, return_sequences, padded):
    reference, fast = pair(kind, activation=activation, go_backwards=go_backwards,
                           return_sequences=return_sequences, return_state=True)
    x, state = data(states=fast.cell.state_count)
    assert_same(reference, fast, x, LENGTHS if padded else None, state)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("activation", ["tanh", "relu", "elu"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_equals_reference_split_across_threads(kind, activation, dtype, kernel_settings):
    """70 units split by units across two threads: blocks of 32, 32 and 6 units, the last a remainder,
    so that one thread runs two blocks of different widths on its one scratch."""
    kernel_settings(split="units")  # "auto" splits so small a kernel by rows
    reference, fast = pair(kind, units=70, dtype=dtype, activation=activation,
                           return_sequences=True, return_state=True)
    x, state = data(dtype, units=70, states=fast.cell.state_count)
    assert_same(reference, fast, x, LENGTHS, state)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("start", ["zero", "given"])
@pytest.mark.parametrize("split", ["auto", "units"])
@pytest.mark.parametrize("units", [70, 64])
def test_one_step(kind, dtype, start, split, units, kernel_settings):
    """A single step, trained: from a zero state it makes no product with the recurrent kernel going
    forward, nor going back unless the initial state wants a gradient, so the kernels leave its
    panels unpacked; from a given state it makes both. 64 units come in whole panels (by units, two
    blocks of 32), so in float32 the step's products read the kernels where they lie; 70 do not."""
    kernel_settings(split=split)
    reference, fast = pair(kind, units=units, dtype=dtype, return_sequences=True, return_state=True)
    x, state = data(dtype, units=units, states=fast.cell.state_count)
    assert_same(reference, fast, x[:, :1], None, state if start == "given" else None)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("recurrent_activation", ["sigmoid", "hard_sigmoid", "tanh", "relu"])
def test_recurrent_activations(kind, recurrent_activation):
    reference, fast = pair(kind, recurrent_activation=recurrent_activation, return_sequences=True)
    assert_same(reference, fast, data()[0], LENGTHS)


@pytest.mark.parametrize("kind", LAYERS)
def test_without_bias(kind):
    reference, fast = pair(kind, use_bias=False, return_sequences=True)
    assert_same(reference, fast, data()[0], LENGTHS)


def test_callable_activation_runs_on_the_portable_engine():
    reference, fast = pair("GRU", activation=lambda v: torch.nn.functional.softplus(v) - 0.5, return_sequences=True)
    assert_same(reference, fast, data()[0], LENGTHS)
    plan = fast.plan(data()[0], LENGTHS)
    assert (plan.route, plan.engine, plan.projection) == ("kernels", "portable", "hoisted")


def test_a_function_named_like_a_builtin_is_not_taken_for_it():
    """The native kernels implement tanh; a user's function called tanh is something else."""

    def tanh(v):
        return torch.tanh(v) * 0.5

    reference, fast = pair("SimpleRNN", activation=tanh, return_sequences=True)
    assert fast.plan(data()[0]).engine == "portable"
    assert_same(reference, fast, data()[0], LENGTHS)


@pytest.mark.parametrize("kind", LAYERS)
def test_input_dropout_with_fixed_masks(kind, monkeypatch):
    """Training with input dropout: the same masks give the same results and gradients."""
    reference, fast = pair(kind, dropout=0.3, return_sequences=True)
    reference.train(), fast.train()
    torch.manual_seed(5)
    masks = reference.cell.dropout_masks(B, data()[0])
    for layer in (reference, fast):
        monkeypatch.setattr(layer.cell, "dropout_masks", lambda batch, like: masks)
    assert_same(reference, fast, data()[0], LENGTHS)


@pytest.mark.parametrize("kind", LAYERS)
def test_same_seed_same_dropout_on_both_backends(kind):
    """Masks come from torch's global generator in the same way on every backend."""
    reference, fast = pair(kind, dropout=0.3, return_sequences=True)
    reference.train(), fast.train()
    x = data()[0]
    torch.manual_seed(11)
    want = reference(x)
    torch.manual_seed(11)
    torch.testing.assert_close(fast(x), want, **TOLERANCE[torch.float64])


@pytest.mark.parametrize("kind", LAYERS)
def test_recurrent_dropout_falls_back_to_reference(kind, monkeypatch):
    reference, fast = pair(kind, dropout=0.2, recurrent_dropout=0.3, return_sequences=True)
    auto = LAYERS[kind](6, input_dim=F, dropout=0.2, recurrent_dropout=0.3, return_sequences=True).double()
    auto.load_state_dict(reference.state_dict())
    reference.train(), auto.train()
    torch.manual_seed(5)
    masks = reference.cell.dropout_masks(B, data()[0])
    for layer in (reference, auto):
        monkeypatch.setattr(layer.cell, "dropout_masks", lambda batch, like: masks)
    plan = auto.plan(data()[0], LENGTHS)
    assert plan.route is None and "recurrent_dropout" in plan.reason, "auto must not fuse recurrent dropout"
    assert_same(reference, auto, data()[0], LENGTHS)
    fast.train()
    with pytest.raises(ValueError, match="backend='fused' cannot run this layer: recurrent_dropout"):
        fast(data()[0])
    fast.eval()  # no recurrent dropout at inference: eligible again
    assert_same(reference.eval(), fast, data()[0], LENGTHS)


def test_gru_reset_before_falls_back_and_forced_fused_raises():
    reference, fast = pair("GRU", reset_after=False, return_sequences=True)
    auto = rnnzoo.GRU(6, input_dim=F, reset_after=False, return_sequences=True).double()
    auto.load_state_dict(reference.state_dict())
    plan = auto.plan(data()[0])
    assert plan.route is None and "reset_after=False" in plan.reason
    assert_same(reference, auto, data()[0], LENGTHS)
    with pytest.raises(ValueError, match="reset_after=False"):
        fast(data()[0])


def test_subclassed_cell_is_not_fused_unless_it_declares_its_kind():
    """A subclass may change the step, so it falls back by default; it keeps the kernels by saying so."""
    layer = rnnzoo.SimpleRNN(4, input_dim=F)
    layer.cell.__class__ = type("MyCell", (type(layer.cell),), {})
    plan = layer.plan(data()[0])
    assert plan.route is None and "no fused kernel for MyCell" in plan.reason
    layer.cell.__class__ = type("SameStep", (type(layer.cell),), {"fused_kind": Kind.SIMPLE})
    assert layer.plan(data()[0]).route is not None


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("merge_mode", ["concat", "sum"])
def test_bidirectional(kind, merge_mode):
    torch.manual_seed(0)
    reference = rnnzoo.Bidirectional(LAYERS[kind](6, input_dim=F, return_sequences=True, return_state=True),
                                     merge_mode=merge_mode, backend="reference").double()
    fast = rnnzoo.Bidirectional(LAYERS[kind](6, input_dim=F, return_sequences=True, return_state=True),
                                merge_mode=merge_mode, backend="fused").double()
    fast.load_state_dict(reference.state_dict())
    assert fast.forward_layer.backend == fast.backward_layer.backend == "fused"
    assert_same(reference, fast, data()[0], LENGTHS)


def test_unknown_backend_is_rejected():
    with pytest.raises(ValueError, match="backend must be one of"):
        rnnzoo.LSTM(4, backend="cuda")


def test_default_backend_is_auto():
    assert rnnzoo.LSTM(4).backend == "auto"
    assert "backend" not in repr(rnnzoo.LSTM(4)) and "backend='reference'" in repr(rnnzoo.LSTM(4, backend="reference"))


def test_library_route_runs_torchs_op_with_keras_weights(fused_route):
    """With the library route on, a tanh LSTM without lengths is one torch op; with lengths, the kernels."""
    reference, fast = pair("LSTM", return_sequences=True)
    assert fast.plan(data()[0]).route == fused_route
    assert_same(reference, fast, data()[0])
    assert fast.plan(data()[0], LENGTHS).route == "kernels"
    assert_same(reference, fast, data()[0], LENGTHS)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("split", ["rows", "units"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])  # float32: products by packed_gemm.h
def test_both_work_splits_equal_the_reference(kind, split, dtype, kernel_settings):
    """The native kernels split a step across threads by rows (no barrier) or by units: both exact.

    70 units: by units the blocks are 32, 32 and 6 wide, the last a remainder of a packed panel (32 columns)."""
    kernel_settings(split=split)
    reference, fast = pair(kind, units=70, dtype=dtype, activation="relu", return_sequences=True, return_state=True)
    torch.manual_seed(3)
    x = torch.randn(37, T, F, dtype=dtype)  # 37 rows: uneven blocks either way
    lengths = torch.randint(1, T + 1, (37,))
    state = [torch.randn(37, 70, dtype=dtype) for _ in range(fast.cell.state_count)]
    assert_same(reference, fast, x, lengths, state)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("used", [0, 1, 2])  # outputs, h_T, c_T (LSTM; the others have two)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_a_loss_on_one_output_alone_gives_the_reference_gradients(kind, used, dtype):
    """The fused node gets no gradient at all for the outputs a loss leaves out (not zeros)."""
    reference, fast = pair(kind, dtype=dtype, return_sequences=True, return_state=True)
    x = data(dtype)[0]
    grads = []
    for layer in (reference, fast):
        x_ = x.detach().requires_grad_()
        results = layer(x_, LENGTHS)
        results[min(used, len(results) - 1)].pow(2).sum().backward()
        grads.append([x_.grad, *(p.grad for p in layer.parameters())])
    for got, want in zip(grads[1], grads[0]):
        torch.testing.assert_close(got, want, **TOLERANCE[dtype])


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("split", ["rows", "units"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_a_zero_initial_state_that_needs_its_gradient_gets_it(kind, split, dtype, kernel_settings):
    """From a zero state the kernels skip the first step's product h_0 U and h_0's rows of dU; the
    product that makes dh_0 still runs when h_0 asks for its gradient."""
    kernel_settings(split=split)
    reference, fast = pair(kind, units=70, dtype=dtype, return_sequences=True, return_state=True)
    x = data(dtype)[0]
    zeros = [torch.zeros(B, 70, dtype=dtype) for _ in range(fast.cell.state_count)]
    assert_same(reference, fast, x, LENGTHS, zeros)


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("activation", ["tanh", "elu"])  # elu: the pure-PyTorch engine
@pytest.mark.parametrize("padded", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_inference_runs_in_chunks_of_time_and_equals_the_reference(kind, activation, padded, return_sequences,
                                                                    fused_route, monkeypatch):
    """At inference the kernels route projects and runs 3 + 3 + 1 steps here, the state carried
    across; LENGTHS end inside a chunk, on a border and in the last one. Training runs whole."""
    monkeypatch.setattr(route, "CHUNK_BYTES", 1)
    monkeypatch.setattr(route, "MIN_CHUNK_STEPS", 3)
    recurrences = []
    recur = fused.recur
    monkeypatch.setattr(fused, "recur", lambda *a, **k: recurrences.append(a[2].shape[1]) or recur(*a, **k))
    reference, fast = pair(kind, activation=activation, return_sequences=return_sequences, return_state=True)
    x, state = data(states=2 if kind == "LSTM" else 1)
    lengths = LENGTHS if padded else None
    # the library route takes standard activations without lengths
    kernels = fused_route == "kernels" or padded or activation != "tanh"
    with torch.no_grad():  # float64: the projection is hoisted, so inference runs in chunks
        plan = fast.plan(x, lengths, initial_state=state)
        want, got = reference(x, lengths, initial_state=state), fast(x, lengths, initial_state=state)
    assert plan.route == ("kernels" if kernels else "library")
    if kernels:
        assert (plan.projection, plan.chunk_steps, plan.backward) == ("hoisted", 3, False)
    assert recurrences == ([3, 3, 1] if kernels else [])  # steps per chunk
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **TOLERANCE[torch.float64])
    recurrences.clear()
    plan = fast.plan(x.requires_grad_(), lengths, initial_state=state)
    fast(x, lengths, initial_state=state)
    assert plan.backward and plan.chunk_steps is None
    assert recurrences == ([7] if kernels else [])
