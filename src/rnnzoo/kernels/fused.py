"""The "kernels" route: a layer's recurrence as one autograd node with a hand-written backward pass.

    forward   h_t = cell(x_t W + b, h_{t-1} U, state_{t-1})   for t = 1..T, no autograd graph per step
    backward  hand BPTT: dZ_t for every step, dh_{t-1} = dZ_t Uᵀ (+ the direct terms), then
              dU = H_{0..T-1}ᵀ dZ as ONE product, and dW, db, dX one product each; where the loop made
              the projection, [H_{0..T-1} | X]ᵀ dZ may make dU and dW in one, where calibration finds it
              faster (not for GRU, whose dU takes the reset-gated h~ block of dZ, its dW the projection's);
              where all of these products run on rnnzoo's GEMM, the native backward makes them in the
              same call: Python's code between two kernels runs from cold caches, several times slower

The projection x_t W + b comes one of two ways (`Plan.projection`):
  "hoisted"  one product over all steps before the loop (projection.py), which the loop reads back;
  "in_loop"  native float32 only: each thread computes its rows' x_t W + b every step into a
             scratch that stays in cache, right before h_{t-1} U. The hoisted product writes B·T·G·U
             floats for the loop to read back and the backward to keep, and with few features it
             does only F multiply-adds per float written. The node is then the projection's too,
             and its backward turns dZ into dW, db and dX with the hoisted projection's products.
A hoisted inference is made a chunk of time at a time (`Plan.chunk_steps`), the state carried
from chunk to chunk and each chunk's outputs written into its window of the layer's output, so the
projected inputs stay small and in cache.
A training forward in low memory (`Plan.segment_steps`) runs time in segments of about sqrt(T)
steps, each under torch.utils.checkpoint: autograd keeps each segment's first state instead of
every step's gates, and the backward pass runs a segment's forward again right before its backward.

Two engines share one contract: the native C++ kernels (native/recurrent.cpp) and a pure-PyTorch
one (portable.py) for activations the C++ code doesn't know, or when no compiler is available.
Gradients arrive per output (None for an output the loss doesn't use), and the engines add them in
where they belong, so no zero-filled gradient of the whole state sequence is ever built.
"""

from dataclasses import replace
from functools import partial

import torch
from torch.utils.checkpoint import checkpoint

from . import build, calibration, portable, projection, settings
from .cell import ACTIVATION_CODES, CellSpec, Kind

LINEAR = ACTIVATION_CODES["linear"]
SPLIT_ROWS = 6  # rows a thread from which the kernels' rule splits rows, for a kernel that fits L2
SPLIT_STEPS = 16  # steps of a call that calibration times the split on


def cell_codes(cell: CellSpec) -> tuple[int, int, int]:
    """The cell as the native entry points take it: (kind, recurrent activation, activation) codes."""
    recurrent = LINEAR if cell.recurrent_activation_code is None else cell.recurrent_activation_code
    return int(cell.kind), recurrent, cell.activation_code


def cell_arguments(cell: CellSpec) -> dict:
    """cell_codes(cell) by the native entry points' names."""
    return dict(zip(("kind", "recurrent_activation", "activation"), cell_codes(cell)))


class NativeEngine:
    """native/recurrent.cpp: activations as codes, keyword arguments in, named tensors out."""

    def __init__(self, module):
        self.module = module

    def forward(self, cell: CellSpec, xp, x, U, brec, h0, c0, lengths, save: bool, out=None, sequence=True):
        """-> (Y, final state, what backward needs). x (with the cell's kernel and input bias)
        instead of xp: the loop makes the projection. sequence=False (with save=False): only the final
        state is wanted, and Y is not the outputs."""
        in_loop = x is not None
        # At inference the packed weights (float32: rnnzoo's GEMM) are kept with the cell's record for
        # the next call, when the kernels read the cell's own weights (not a contiguous copy made for
        # this call alone).
        own = U is cell.recurrent_kernel and (not in_loop or cell.kernel.is_contiguous())
        kernel, bias = (cell.kernel, cell.input_bias) if in_loop else (None, None)

        def trial(split, rows):  # the first rows and steps of this call, nothing kept, split that way
            first = [None if t is None else t[:rows, :SPLIT_STEPS].contiguous() for t in (xp, x)]
            self.module.forward(*cell_codes(cell), *first, kernel, bias, U, brec, h0[:rows],
                                None if c0 is None else c0[:rows], None, False, None, False, split, None)

        split = self.split(U, h0.shape[0], (x if in_loop else xp).shape[1], trial)
        keep = None
        if own and not save and U.dtype == torch.float32:
            keep = cell.kept_panels.pop() if cell.kept_panels else _new_buffer()
        try:  # in the order of its arguments: by keyword, pybind11 makes a string of every name each call
            result = self.module.forward(*cell_codes(cell), xp, x, kernel, bias, U, brec, h0, c0, lengths, save, out,
                                         sequence, split, keep)
        finally:
            if keep is not None:
                cell.kept_panels.append(keep)
        final = (result.h, result.c) if cell.kind == Kind.LSTM else (result.h,)
        saved = (result.Y, h0, result.C, result.gates, result.extra) if save else ()
        return result.Y, final, saved

    def backward(self, cell: CellSpec, xp, U, has_brec, saved, dY, dh_T, dc_T, lengths, need_dh0, inputs=None):
        """-> (dxp, dU, dbrec, dh0, dc0, projection's), each None where there is none. inputs: (x, kernel,
        needs) for a loop that made the projection of x (B, T, F), needs saying which of (dx, dkernel,
        dbias) are wanted; projection's is then those three, each None unless wanted."""
        Y, h0, C, gates, extra = saved
        arguments = dict(**cell_arguments(cell), U=U, Y=Y, h0=h0, C=C, gates=gates, extra=extra, dY=dY,
                         dh_T=dh_T, dc_T=dc_T, lengths=lengths, need_dh0=need_dh0,
                         split=self.split(U, Y.shape[0], Y.shape[1]))
        x, kernel, (need_dx, need_dkernel, need_dbias) = inputs if inputs is not None else (None, None, (False,) * 3)
        joint = self.one_call(cell, Y, U, x, need_dx, need_dkernel, need_dbias)
        if joint is not None:
            r = self.module.backward(**arguments, gradients=True, has_brec=has_brec, x=x if need_dkernel else None,
                                     kernel=kernel if need_dx else None, joint=joint, bias_sums=need_dbias)
            return r.dxp, r.dU, r.dbrec, r.dh0, r.dc0, (None if inputs is None else (r.dx, r.dW, r.db))
        result = self.module.backward(**arguments)
        made = None
        if need_dkernel and result.dr is None:  # GRU's dU takes the reset-gated h~ block, its dW the projection's
            dU, dbrec, dW, db = self.kernel_gradients(Y, h0, x, result.dxp, has_brec, need_dbias)
            made = (dW, db)
        else:
            dU, dbrec = self.recurrent_gradient(Y, h0, result.dxp, has_brec, result.dr)
        if inputs is None:
            return result.dxp, dU, dbrec, result.dh0, result.dc0, None
        dx, dkernel, dbias = projection.gradients(x, kernel, need_dbias, result.dxp,
                                                  (need_dx, need_dkernel and made is None, need_dbias and made is None))
        return result.dxp, dU, dbrec, result.dh0, result.dc0, (dx, *(made or (dkernel, dbias)))

    def split(self, U, batch: int, steps: int, trial=None) -> str:
        """How the loop's threads share a call: the configured split, or for "auto" the kernels' rule
        (native/recurrent.cpp, split_work), but for a recurrent kernel too large for a core's L2 with 6
        rows a thread or more: the rule splits the units there (each thread then streams half the kernel
        every step), yet splitting the rows (no barrier a step) ran faster on a Zen 3 (docs/kernel-notes.md),
        so calibration times the two on this call's first steps (`trial(split, rows)`), once per machine
        and shape class, in float32. The two give the same bits. Without `trial` (the backward pass)
        only a split already timed is taken."""
        wanted, threads = settings.current().split, torch.get_num_threads()
        if wanted != "auto" or threads < 2 or batch < SPLIT_ROWS * threads or U.dtype != torch.float32:
            return wanted  # (float64 runs its products on torch.mm, which no timing here stands for)
        units, width = U.shape
        rule = self.module.split_of(batch=batch, steps=steps, units=units, kernel_bytes=U.numel() * U.element_size())
        if rule != "units":
            return wanted
        product, ways = f"recurrent_split/{threads}", ("rows", "units")
        # shape classes by the batch from 1 up: the rows each thread gets decide the split
        if trial is None:
            return calibration.known(product, batch, units, width, ways, fewest_rows=1) or wanted
        return calibration.choose(product, batch, units, width, {way: partial(trial, way) for way in ways},
                                  fewest_rows=1)

    @staticmethod
    def one_call(cell: CellSpec, Y, U, x, need_dx: bool, need_dkernel: bool, need_dbias: bool) -> bool | None:
        """Where every gradient product of this backward runs on rnnzoo's GEMM, one native call makes
        them all, after the loop (module.backward with gradients): then whether dU's product makes dW
        too (`joint`, as kernel_gradients' "native"). None where a product runs on another engine, or
        has yet to be timed (the products one by one time it, through the engines' runners)."""
        batch, steps, units = Y.shape
        rows, width = batch * steps, U.shape[1]
        if projection.decided(Y, "recurrent_grad", rows, units, width) != "native":
            return None
        if x is None:
            return False
        features = x.shape[2]
        if need_dbias and not need_dkernel:  # the column sums alone: grad.sum(0), in projection.gradients
            return None
        if need_dx and projection.decided(Y, "input_grad", rows, width, features) != "native":
            return None
        if not need_dkernel:
            return False
        if cell.kind != Kind.GRU:  # as kernel_gradients chooses
            joint = kernel_grads_engine("native", rows, units + features, width)
            if joint is None:
                return None
            if joint == "native":
                return True
        return False if projection.decided(Y, "weight_grad", rows, features, width) == "native" else None

    def kernel_gradients(self, Y, h0, x, dxp, has_brec: bool, bias_sums: bool):
        """(dU, dbrec, dW, db), the recurrent and the input kernel's gradients and dZ's column sums (each
        sum with has_brec, bias_sums), for a loop that made the projection of x (B, T, F): from one native
        product [h_{t-1} | x_t]ᵀ dZ, which reads and packs dZ, many times larger than either, once; or from
        a product each, on the GEMMs calibration chose for them alone. Calibration chooses between the two
        as well (an engine configured decides it: one product on "native"); they differ in rounding only."""
        batch, steps, units = Y.shape
        rows, grad = x.reshape(-1, x.shape[2]), dxp.reshape(-1, dxp.shape[2])
        recurrent, recurrent_runners = self.recurrent_gradient_engine(Y, h0, dxp, has_brec)
        weight, weight_runners = projection.weight_gradient_engine(rows, grad, bias_sums)

        def one(n):
            Y_n, h0_n, dZ_n, x_n = (first_sequences(t, n, steps) for t in (Y, h0, dxp, x))
            dU, sums, dW = self.module.recurrent_gradient(Y=Y_n, h0=h0_n, dr=dZ_n, has_brec=has_brec or bias_sums,
                                                           x=x_n)
            return dU, sums if has_brec else None, dW, sums if bias_sums else None

        def two(n):
            return *recurrent_runners[recurrent](n), *weight_runners[weight](n)

        runners = {"native": one, "separate": two}
        which = kernel_grads_engine(recurrent, batch * steps, units + x.shape[2], dxp.shape[2], runners)
        dU, dbrec, dW, db = runners[which](batch * steps)
        return dU, dbrec, dW, (db if bias_sums else None)

    def recurrent_gradient(self, Y, h0, dr, has_brec: bool, dr_h=None):
        """(dU, dbrec) = (Σ_b,t h_{t-1}ᵀ dr_t, Σ_b,t dr_t): one product of depth B·T, on whichever GEMM
        calibration found fastest for its shape on this machine. rnnzoo's reads the states where they
        lie (Y and h0, skipping a zero h0); BLAS takes h_0 .. h_{T-1} as one matrix, copied.
        dr_h (B, T, U), GRU's: dr's last U columns are dr_h's (the backward pass keeps the reset-gated
        h~ block apart from dxp, which is the rest of dr)."""
        which, runners = self.recurrent_gradient_engine(Y, h0, dr, has_brec, dr_h)
        return runners[which](Y.shape[0] * Y.shape[1])

    def recurrent_gradient_engine(self, Y, h0, dr, has_brec: bool, dr_h=None) -> tuple[str, dict]:
        """The engine recurrent_gradient runs on, and the runners by engine."""
        batch, steps, units = Y.shape

        def part(t, rows):
            return first_sequences(t, rows, steps)

        runners = {
            "native": lambda rows: self.module.recurrent_gradient(
                Y=part(Y, rows), h0=part(h0, rows), dr=part(dr, rows), dr_h=part(dr_h, rows), has_brec=has_brec),
            "blas": lambda rows: recurrent_gradient_blas(part(Y, rows), part(h0, rows), part(dr, rows), has_brec,
                                                         part(dr_h, rows)),
        }
        return projection.engine(dr, "recurrent_grad", batch * steps, units, dr.shape[2], runners), runners


def kernel_grads_engine(recurrent: str, rows: int, depth: int, width: int, runners: dict | None = None) -> str | None:
    """How the recurrent and input kernels' gradients are made, dU's product on `recurrent`: "native", one
    product [h_{t-1} | x_t]ᵀ dZ (only on rnnzoo's GEMM), or "separate", a product each. An engine
    configured decides it (one product on "native"); else calibration: timing the two with `runners`,
    or without them answering only where it has timed them already (None: not yet)."""
    wanted = settings.current().gemm
    if recurrent != "native" or wanted not in ("auto", "native"):
        return "separate"
    if wanted == "native":
        return "native"
    if runners is None:
        return calibration.known("kernel_grads", rows, depth, width, ("native", "separate"))
    return calibration.choose("kernel_grads", rows, depth, width, runners)


def first_sequences(t, rows: int, steps: int):
    """t's first sequences holding `rows` rows of (sequence, step) (calibration times a product on part of
    its operands); t itself when that is all of it (or None)."""
    if t is None:
        return None
    n = min(t.shape[0], -(-rows // max(steps, 1)))
    return t if n == t.shape[0] else t[:n]


def recurrent_gradient_blas(Y, h0, dr, has_brec: bool, dr_h=None):
    """NativeEngine.recurrent_gradient on torch.mm: H_prev (B, T, U) holds h_0 .. h_{T-1}, rows as dr's;
    with dr_h, the columns dr_h stands for in a product of their own."""
    steps, units = Y.shape[1], Y.shape[2]
    H_prev = torch.cat([h0.unsqueeze(1), Y[:, :steps - 1]], 1)[:, :steps].reshape(-1, units).t()
    if dr_h is None:
        return H_prev @ dr.reshape(-1, dr.shape[2]), (dr.sum((0, 1)) if has_brec else None)
    head = dr[..., :dr.shape[2] - units]
    dU = torch.cat([H_prev @ head.reshape(-1, head.shape[2]), H_prev @ dr_h.reshape(-1, units)], 1)
    return dU, (torch.cat([head.sum((0, 1)), dr_h.sum((0, 1))]) if has_brec else None)


def _new_buffer() -> torch.Tensor:
    """An empty float32 tensor the kernels may resize, in inference mode or out of it later."""
    with torch.inference_mode(False):
        return torch.empty(0)


class PortableEngine:
    """portable.py: any elementwise activation, the projection always hoisted."""

    @staticmethod
    def forward(cell: CellSpec, xp, x, U, brec, h0, c0, lengths, save: bool, out=None, sequence=True):
        assert x is None, "the portable engine takes projected inputs (the in-loop projection is native only)"
        Y, final, saved = portable.forward(cell, xp, U, brec, h0, c0, lengths)
        return (Y if out is None else out.copy_(Y)), final, saved

    @staticmethod
    def backward(cell: CellSpec, xp, U, has_brec, saved, dY, dh_T, dc_T, lengths, need_dh0, inputs=None):
        assert inputs is None, "the portable engine takes projected inputs (the in-loop projection is native only)"
        return (*portable.backward(cell, xp, U, has_brec, saved, dY, dh_T, dc_T, lengths, need_dh0), None)


def engine(name: str):
    return NativeEngine(build.native()) if name == "native" else PortableEngine


class FusedRecurrence(torch.autograd.Function):
    """The whole recurrence as one autograd node: outputs Y (B, T, U) = h_1..h_T, final h_T [, c_T].

    It starts from the projected inputs xp, or (xp None) from the inputs x, kernel and input bias
    whose products the native loop makes: then it is the projection's node too.
    """

    @staticmethod
    def forward(ctx, engine, cell, lengths, xp, x, kernel, bias, U, brec, h0, c0):
        Y, final, saved = engine.forward(cell, xp, x, U, brec, h0, c0, lengths, save=True)
        ctx.engine, ctx.cell = engine, cell
        ctx.has_brec, ctx.has_bias = brec is not None, bias is not None
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(xp, x, kernel, U, lengths, *saved)
        return (Y, *final)

    @staticmethod
    def backward(ctx, dY, dh_T, dc_T=None):
        xp, x, kernel, U, lengths, *saved = ctx.saved_tensors
        need = dict(zip(("xp", "x", "kernel", "bias", "U", "brec", "h0", "c0"), ctx.needs_input_grad[3:]))
        # the step-0 product dZ_1 Uᵀ only makes dh_0, usually not wanted
        inputs = None if x is None else (x, kernel, (need["x"], need["kernel"], ctx.has_bias and need["bias"]))
        dxp, dU, dbrec, dh0, dc0, made = ctx.engine.backward(
            ctx.cell, xp, U, ctx.has_brec, saved, dY, dh_T, dc_T, lengths, need["h0"], inputs)
        dx = dkernel = dbias = None
        if x is not None:  # the node is the projection's too: its gradients came from its output's, dxp
            (dx, dkernel, dbias), dxp = made, None
        return None, None, None, dxp, dx, dkernel, dbias, dU, dbrec, dh0, dc0


def run(plan, cell: CellSpec, x: torch.Tensor, state: tuple, lengths, return_sequences: bool):
    """The route "kernels" of `plan` over x (B, T, F): (outputs (B, T, U) or None, final state)."""
    if plan.segment_steps is not None:
        return _in_segments(plan, cell, x, state, lengths, return_sequences)
    if plan.projection == "in_loop":  # no projected inputs in memory, so no chunks either
        return recur(plan, cell, None, state, lengths, return_sequences, x=x.contiguous())
    if plan.chunk_steps is None:
        return recur(plan, cell, projection.project(x, cell.kernel, cell.input_bias), state, lengths,
                     return_sequences)
    batch, steps, _ = x.shape
    chunk = plan.chunk_steps
    several = return_sequences and steps > chunk
    outputs = x.new_empty(batch, steps, cell.units) if several else None
    for t0 in range(0, steps, chunk):
        t1 = min(steps, t0 + chunk)
        local_lengths = None if lengths is None else (lengths - t0).clamp(0, t1 - t0)
        window = outputs[:, t0:t1] if several else None
        out, state = recur(plan, cell, projection.project(x[:, t0:t1], cell.kernel, cell.input_bias), state,
                           local_lengths, return_sequences, window)
    if not return_sequences:
        return None, state
    return (outputs if several else out), state


def _in_segments(plan, cell: CellSpec, x: torch.Tensor, state: tuple, lengths, return_sequences: bool):
    """Low memory: each segment of `plan.segment_steps` steps is checkpointed, so autograd keeps its
    first state (and x) only; the backward pass runs the segment's forward again, then its backward.
    The same kernels run both times, so values and gradients equal the plain run's."""
    whole, step = replace(plan, segment_steps=None), plan.segment_steps
    outputs = []
    for t0 in range(0, x.shape[1], step):
        t1 = min(x.shape[1], t0 + step)
        local_lengths = None if lengths is None else (lengths - t0).clamp(0, t1 - t0)
        out, state = checkpoint(run, whole, cell, x[:, t0:t1], state, local_lengths, return_sequences,
                                use_reentrant=False)
        outputs.append(out)
    return (torch.cat(outputs, dim=1) if return_sequences else None), state


def recur(plan, cell: CellSpec, projected, state: tuple, lengths, return_sequences: bool, out=None, x=None):
    """The recurrence over projected inputs (B, T, G·U), or over x whose projection the loop makes.

    out: at inference only, a (B, T, U) buffer to write the outputs into (a window of a longer one).
    """
    runner = engine(plan.engine)
    xp = None if projected is None else projected.contiguous()
    U = cell.recurrent_kernel.contiguous()
    kernel, bias = (cell.kernel, cell.input_bias) if x is not None else (None, None)
    c0 = state[1] if cell.kind == Kind.LSTM else None
    if plan.backward:  # not the layer's training mode: an eval-mode layer may still need gradients
        outputs, *final = FusedRecurrence.apply(runner, cell, lengths, xp, x, kernel, bias, U, cell.recurrent_bias,
                                                state[0], c0)
        final = tuple(final)
    else:  # inference: no autograd node, and the kernels keep no gates for a backward pass
        outputs, final, _ = runner.forward(cell, xp, x, U, cell.recurrent_bias, state[0], c0, lengths, save=False,
                                           out=out, sequence=return_sequences)
    if not return_sequences:  # padded steps keep the state: the last step's is final
        return None, final
    if lengths is not None:  # padded steps output zeros
        padded = torch.arange(outputs.shape[1], device=outputs.device) >= lengths[:, None]  # (B, T)
        if plan.backward:
            outputs = torch.where(padded[:, :, None], 0.0, outputs)
        else:  # in place: the outputs may be the caller's buffer
            outputs.masked_fill_(padded[:, :, None], 0.0)
    return outputs, final
