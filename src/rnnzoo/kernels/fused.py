"""The fused recurrent runner: the loop of `rnn.RNN` with a hand-written backward pass.

`rnn.RNN.forward` computes the input projection for all steps at once (one GEMM) and then asks
`run` for the recurrence. `run` executes it as one autograd node, `FusedRecurrence`:

    forward   h_t = cell(xp_t, h_{t-1} U, state_{t-1})  for t = 1..T, no autograd graph per step
    backward  hand BPTT: dZ_t for every step, dh_{t-1} = dZ_t U^T (+ the direct terms),
              then dU = H_{0..T-1}^T dZ as ONE product; dW, db and dX follow from autograd of the
              hoisted projection, again one product each.

On the native engine in float32 the projection is not hoisted but made inside the loop: each step,
each thread computes its rows' x_t W + b into a scratch that stays in cache, right before h_{t-1} U
(`inputs_in_loop`); the node is then the projection's too, and its backward turns dZ into dW, db
and dX with the same products as the hoisted projection's. The hoisted GEMM writes B·T·G·U floats
to memory for the loop to read back (205 MB for an LSTM of 256 units at batch 64, T 784), and
with few features (28 pixels a row, 1 pixel by pixel) it does only F multiply-adds per float.

Two engines implement that contract: the native C++ kernels (`native/recurrent.cpp`, built once by
`build.py`) and a pure-PyTorch one (`portable.py`) for activations the C++ code doesn't know, or
when no compiler is available.

Routes (chosen by `route`, in this order; `backend="auto"` uses the reference loop when none
applies, `backend="fused"` raises with the reason):
  0. any fused route needs the cell to be exactly SimpleRNNCell, LSTMCell or GRUCell (a subclass
     may change the step) and no recurrent dropout while training (its masks act inside every
     product);
  1. "library": PyTorch's own fused op (cuDNN on CUDA; none on the CPU, where ours are faster),
     for the cells and devices listed in `library.py` — standard activations, no per-sequence
     lengths;
  2. "kernels": rnnzoo's kernels, this module: the input on the CPU, float32 or float64, GRU with
     reset_after=True (with reset_after=False the product (r * h) U_h is inside the step).
     Native engine, on top: activation and recurrent_activation among linear/None, tanh,
     sigmoid, relu, hard_sigmoid, and the extension built; otherwise the portable engine runs
     (any activation).
"""

import torch

from ..layers import activations
from . import build, library, portable, projection

SIMPLE, LSTM, GRU = portable.SIMPLE, portable.LSTM, portable.GRU

# Activation functions the C++ kernels implement, with their codes in native/recurrent.cpp.
NATIVE_ACTIVATIONS = {
    activations.linear: 0,
    torch.tanh: 1,
    torch.sigmoid: 2,
    torch.relu: 3,
    activations.hard_sigmoid: 4,
}

calls = {"native": 0, "portable": 0, "library": 0}  # how often each engine ran: the tests' proof it ran


def cell_kind(cell) -> int | None:
    from ..layers.gru import GRUCell
    from ..layers.lstm import LSTMCell
    from ..layers.simple_rnn import SimpleRNNCell

    return {SimpleRNNCell: SIMPLE, LSTMCell: LSTM, GRUCell: GRU}.get(type(cell))


def route(layer, x: torch.Tensor, lengths=None) -> tuple[str | None, str | None]:
    """("library" or "kernels", None) for the fused route that runs this layer on x, else (None, why)."""
    cell = layer.cell
    kind = cell_kind(cell)
    if kind is None:
        return None, f"there is no fused kernel for {type(cell).__name__} (only SimpleRNNCell, LSTMCell, GRUCell)"
    if layer.training and cell.recurrent_dropout > 0:
        return None, "recurrent_dropout > 0 while training is not fused (its masks act inside every product)"
    not_library = library.ineligible_reason(kind, cell, x, lengths)
    if not_library is None:
        return "library", None
    if kind == GRU and not cell.reset_after:
        return None, "GRU(reset_after=False) multiplies (r * h) by U inside the step; only reset_after=True is fused"
    if x.device.type != "cpu":
        return None, (f"rnnzoo's fused kernels run on the CPU and PyTorch's fused op does not take this layer "
                      f"on {x.device} ({not_library})")
    if x.dtype not in (torch.float32, torch.float64):
        return None, f"the fused kernels need float32 or float64, got {x.dtype}"
    return "kernels", None


class NativeEngine:
    """native/recurrent.cpp behind the engine contract of portable.py (activations as codes)."""

    def __init__(self, module):
        self.module = module

    def forward(self, kind, ra, act, xp, U, brec, h0, c0, lengths, save=True, out=None, inputs=None, sequence=True):
        """inputs: None, or (x, kernel, input bias) whose product the loop makes (xp is then None).
        sequence=False (with save=False): only the final state is wanted; Y is then not the outputs."""
        x, kernel, bias = inputs if inputs is not None else (None, None, None)
        result = self.module.forward(kind, ra, act, xp, U, brec, h0, c0, lengths, save, out, x, kernel, bias,
                                     sequence)
        Y, h_T = result[0], result[1]
        C, c_T = (result[2], result[3]) if kind == LSTM else (None, None)
        gates, extra = result[-2:] if save and kind != SIMPLE else (None, None)
        return Y, h_T, c_T, (Y, h0, C, gates, extra) if save else ()

    def backward(self, kind, ra, act, xp, U, has_brec, saved, dY, dh_T, dc_T, lengths, need_dh0):
        Y, h0, C, gates, extra = saved
        dxp, dU, dbrec, dh0, dc0 = self.module.backward(
            kind, ra, act, U, has_brec, Y, h0, C, gates, extra, dY, dh_T, dc_T, lengths, need_dh0)
        return dxp, dU, dbrec if has_brec else None, dh0, dc0 if kind == LSTM else None


class PortableEngine:
    @staticmethod
    def forward(kind, ra, act, xp, U, brec, h0, c0, lengths, save=True, out=None, inputs=None, sequence=True):
        assert inputs is None, "the portable engine takes projected inputs (inputs_in_loop is native only)"
        Y, h_T, c_T, saved = portable.forward(kind, ra, act, xp, U, brec, h0, c0, lengths)
        return (Y if out is None else out.copy_(Y)), h_T, c_T, saved

    @staticmethod
    def backward(kind, ra, act, xp, U, has_brec, saved, dY, dh_T, dc_T, lengths, need_dh0):
        return portable.backward(kind, ra, act, xp, U, has_brec, saved, dY, dh_T, dc_T, lengths, need_dh0)


def engine_for(cell, kind: int):
    """(engine, name, recurrent activation, activation) for a cell: native where it can be."""
    ra = getattr(cell, "recurrent_activation", activations.linear)
    act = cell.activation
    if ra in NATIVE_ACTIVATIONS and act in NATIVE_ACTIVATIONS and (module := build.native()) is not None:
        return NativeEngine(module), "native", NATIVE_ACTIVATIONS[ra], NATIVE_ACTIVATIONS[act]
    return PortableEngine, "portable", ra, act


class FusedRecurrence(torch.autograd.Function):
    """The whole recurrence as one autograd node: outputs Y (B, T, U) = h_1..h_T, final h_T [, c_T].

    It starts from the projected inputs xp, or (xp None) from the inputs x, kernel and input bias
    whose products the native loop makes: then it is the projection's node too.
    Gradients arrive per output (None for an output the loss doesn't use: grads are not
    materialised), and the engines add them in where they belong, so no zero-filled gradient of
    the whole state sequence is ever built.
    """

    @staticmethod
    def forward(ctx, engine, kind, ra, act, lengths, xp, x, kernel, bias, U, brec, h0, c0):
        inputs = None if x is None else (x, kernel, bias)
        Y, h_T, c_T, saved = engine.forward(kind, ra, act, xp, U, brec, h0, c0, lengths, inputs=inputs)
        ctx.engine, ctx.kind, ctx.ra, ctx.act, ctx.has_brec = engine, kind, ra, act, brec is not None
        ctx.has_bias = bias is not None
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(xp, x, kernel, U, lengths, *saved)
        return (Y, h_T, c_T) if kind == LSTM else (Y, h_T)

    @staticmethod
    def backward(ctx, dY, dh_T, dc_T=None):
        xp, x, kernel, U, lengths, *saved = ctx.saved_tensors
        need_dh0 = ctx.needs_input_grad[-2]  # h0 (inputs end h0, c0): the step-0 product dZ_1 U^T only makes dh_0
        dxp, dU, dbrec, dh0, dc0 = ctx.engine.backward(
            ctx.kind, ctx.ra, ctx.act, xp, U, ctx.has_brec, saved, dY, dh_T, dc_T, lengths, need_dh0)
        dx = dkernel = dbias = None
        if x is not None:  # the projection's gradients, from its output's, dxp
            dx, dkernel, dbias = projection.gradients(x, kernel, ctx.has_bias, dxp, ctx.needs_input_grad[6:9])
            dxp = None
        return None, None, None, None, None, dxp, dx, dkernel, dbias, dU, dbrec, dh0, dc0


def masked(x: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
    """x with the cell's input dropout mask applied, as `cell.gate_matmul` does for one shared mask.

    Fused routes have at most one mask (per-gate masks come with recurrent dropout, not fused).
    """
    if masks is None:
        return x
    assert len(masks) == 1, "per-gate input masks only come with recurrent dropout, which is not fused"
    return x * masks[0].unsqueeze(1)


def run_library(cell, x: torch.Tensor, masks, state: tuple, return_sequences: bool, training: bool):
    """The "library" route: the whole layer in one PyTorch fused op (library.py)."""
    calls["library"] += 1
    return library.run(cell_kind(cell), cell, masked(x, masks), state, return_sequences, training)


# False: hoist the projection on every engine (the tests' and A/B measurements' switch).
# Measured against hoisting (interleaved rounds, 2 cores, 256 units): inference 8-20 % faster at
# T 196-784 or batch 512 (LSTM T 784: 13-20 %), -1 to +5 % on the notebook's models; training 0-4 %
# faster, for 28 to 1024 features; at 1024 units (split by units: W and U both stream from L3 every
# step) training 1-1.5 % slower, inference 1-2.5 % faster.
projections_in_loop = True


def inputs_in_loop(cell, x: torch.Tensor) -> bool:
    """True when the native loop makes this layer's projected inputs itself (float32, native engine)."""
    return projections_in_loop and x.dtype == torch.float32 and engine_for(cell, cell_kind(cell))[1] == "native"


def project_inputs(cell, x: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
    """cell.project_inputs for the "kernels" route: x (B, T, F) -> x @ kernel + input bias, (B, T, G·U)."""
    return projection.project(masked(x, masks), cell.kernel, cell.input_bias())


# At inference, the "kernels" route runs time in chunks whose projected inputs take at most this
# many bytes, and at least MIN_CHUNK_STEPS steps (each chunk packs the kernels again: ~0.5 ms for
# an LSTM of 256 units, measured, so shorter chunks cost more than they save).
CHUNK_BYTES = 16 << 20
MIN_CHUNK_STEPS = 16


def backward_to_come(*tensors) -> bool:
    """True when autograd will ask for gradients of these tensors (grad mode on, one requires grad)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def run_kernels(cell, x: torch.Tensor, masks, state: tuple, lengths, return_sequences: bool):
    """The "kernels" route: the projection and the recurrence (`run`).

    Native float32: the loop makes the projection itself, a step at a time (`inputs_in_loop`),
    so no projected inputs are ever stored. Otherwise the projection is hoisted. Training: one
    projection of all T steps, (B, T, G·U), and the recurrence as one autograd node. Inference:
    the same, a chunk of time at a time, the state carried from chunk to chunk, so the projected
    inputs take at most CHUNK_BYTES instead of B·T·G·U floats (205 MB for an LSTM of 256 units at
    batch 64, T 784, which glibc maps fresh, and the OS zero-fills, on every call unless
    rnnzoo.process.tune_malloc was applied) and the chunk is still in cache when the recurrence
    reads it. Each chunk writes its outputs into its window of the layer's (B, T, U) output:
    concatenating them afterwards cost 5 % (LSTM) to 10 % (SimpleRNN) of the inference at T 784,
    256 units (interleaved A/B).
    """
    if inputs_in_loop(cell, x):  # no projected inputs in memory, so no chunks either
        inputs = (masked(x, masks).contiguous(), cell.kernel, cell.input_bias())
        return run(cell, None, state, lengths, return_sequences, inputs=inputs)
    if backward_to_come(x, cell.kernel, cell.bias, cell.recurrent_kernel, *state):  # input_bias is cell.bias
        return run(cell, project_inputs(cell, x, masks), state, lengths, return_sequences)
    batch, steps, _ = x.shape
    step_bytes = batch * cell.kernel.shape[1] * x.element_size()
    chunk = max(MIN_CHUNK_STEPS, CHUNK_BYTES // max(1, step_bytes))
    several = return_sequences and steps > chunk
    outputs = x.new_empty(batch, steps, cell.recurrent_kernel.shape[0]) if several else None
    for t0 in range(0, steps, chunk):
        t1 = min(steps, t0 + chunk)
        local_lengths = None if lengths is None else (lengths - t0).clamp(0, t1 - t0)
        window = outputs[:, t0:t1] if several else None
        out, state = run(cell, project_inputs(cell, x[:, t0:t1], masks), state, local_lengths, return_sequences,
                         window)
    if not return_sequences:
        return None, state
    return (outputs if several else out), state


def run(cell, projected: torch.Tensor | None, state: tuple, lengths: torch.Tensor | None, return_sequences: bool,
        out: torch.Tensor | None = None, inputs: tuple | None = None):
    """The recurrence over projected inputs (B, T, G·U) -> (outputs (B, T, U) or None, final state).

    out: at inference only, a (B, T, U) buffer to write the outputs into (a window of a longer one).
    inputs: instead of `projected` (None), (x, kernel, input bias) for the native loop to project.
    """
    kind = cell_kind(cell)
    engine, name, ra, act = engine_for(cell, kind)
    calls[name] += 1
    brec = cell.bias[1] if kind == GRU and cell.bias is not None else None
    c0 = state[1] if kind == LSTM else None
    x, kernel, bias = inputs if inputs is not None else (None, None, None)
    xp = None if projected is None else projected.contiguous()
    U = cell.recurrent_kernel.contiguous()
    # `backward`, not the layer's training mode: an eval-mode layer whose weights need gradients
    # still gets an autograd node.
    backward = backward_to_come(xp, x, kernel, bias, U, brec, state[0], c0)
    if backward:
        outputs, *final = FusedRecurrence.apply(engine, kind, ra, act, lengths, xp, x, kernel, bias, U, brec,
                                                state[0], c0)
    else:  # inference: no autograd node, and the kernels keep no gates for a backward pass
        outputs, h_T, c_T, _ = engine.forward(kind, ra, act, xp, U, brec, state[0], c0, lengths, save=False, out=out,
                                              inputs=inputs, sequence=return_sequences)
        final = [h_T, c_T] if kind == LSTM else [h_T]
    final = tuple(final)  # padded steps keep the state: the last step's is final
    if not return_sequences:
        return None, final
    if lengths is not None:  # padded steps output zeros
        padded = torch.arange(outputs.shape[1], device=outputs.device) >= lengths[:, None]  # (B, T)
        if backward:
            outputs = torch.where(padded[:, :, None], 0.0, outputs)
        else:  # in place: the outputs may be the caller's buffer
            outputs.masked_fill_(padded[:, :, None], 0.0)
    return outputs, final
