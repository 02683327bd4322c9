"""Choosing the fast path for one call of a recurrent layer, and running it.

`plan` looks at the cell's record (`CellSpec`), the input and the state once and returns a `Plan`:

    route        "library": PyTorch's own fused op (`library.py`: cuDNN on CUDA)
                 "kernels": rnnzoo's fused recurrence (`fused.py`) on the CPU
                 None: no fused route applies; `reason` says why, and the layer runs its
                 reference loop (backend="auto") or raises with it (backend="fused")
    engine       for "kernels": "native" (the C++ kernels of native/, built once by build.py)
                 or "portable" (the same contract in pure PyTorch, portable.py: any activation,
                 no compiler needed)
    projection   for "kernels": "in_loop" (native float32: each step computes x_t W + b right
                 before h_{t-1} U, so the projected inputs are never stored) or "hoisted" (one
                 product over all steps before the loop)
    chunk_steps  for a hoisted inference: the recurrence runs this many steps at a time, so the
                 projected inputs stay small and in cache; None: all steps at once
    backward     True when autograd will ask for gradients: the recurrence is then one autograd
                 node that keeps what its hand-written backward pass needs
    segment_steps  for a backward in low memory (`configure(memory=...)`): the recurrence runs in
                 segments of this many steps, each keeping only its first state and recomputing
                 its gates in the backward pass; None: every step's gates are kept

The conditions, in order: a cell kind the kernels compute (declared by the cell class; a subclass
that doesn't re-declare it changes the step, so it falls back); no recurrent dropout while
training (its masks act inside every product); then PyTorch's op where `library.ROUTES` sends
this device and it takes the configuration; else rnnzoo's kernels, which need the CPU and float32
or float64. The native engine needs activations it implements and the extension built.
"""

import math
from dataclasses import dataclass

import torch

from . import build, fused, library, settings, threads
from .cell import CellSpec, Kind

# A hoisted inference runs time in chunks whose projected inputs take at most this many bytes, and
# at least MIN_CHUNK_STEPS steps: each chunk is a projection and a parallel region of its own, so
# shorter chunks cost more than they save.
CHUNK_BYTES = 16 << 20
MIN_CHUNK_STEPS = 16
# memory="auto" recomputes in the backward pass when a layer would otherwise keep more than this for it.
LOW_MEMORY_BYTES = 1 << 30


@dataclass(frozen=True)
class Plan:
    route: str | None
    reason: str = ""
    engine: str | None = None
    projection: str | None = None
    chunk_steps: int | None = None
    backward: bool = False
    training: bool = False
    segment_steps: int | None = None


def backward_to_come(*tensors) -> bool:
    """True when autograd will ask for gradients of these tensors (grad mode on, one requires grad)."""
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def plan(cell: CellSpec, x: torch.Tensor, state: tuple, lengths: torch.Tensor | None, training: bool) -> Plan:
    """The fused route for running `cell` over x (B, T, F) from `state`, or Plan(None, reason).

    The answer is kept with the record and given again while the question is the same: everything
    below reads only the record, what the key lists, and this module's constants."""
    backward = backward_to_come(x, *cell.weights, *state)  # all that grad mode and requires_grad decide
    key = (x.dtype, x.device, *x.shape[:2], training, backward, lengths is None,
           settings.current(), build.native() is not None, library.ROUTES, CHUNK_BYTES, MIN_CHUNK_STEPS,
           LOW_MEMORY_BYTES)
    last = cell.last_plan[-1] if cell.last_plan else None  # one read: another thread may replace it
    if last is not None and last[0] == key:
        return last[1]
    chosen = choose(cell, x, lengths, training, backward)
    cell.last_plan[:] = [(key, chosen)]
    return chosen


def choose(cell: CellSpec, x: torch.Tensor, lengths: torch.Tensor | None, training: bool, backward: bool) -> Plan:
    if cell.kind is None:
        return Plan(None, cell.reason or f"there is no fused kernel for {cell.name}")
    if training and cell.recurrent_dropout > 0:
        return Plan(None, "recurrent_dropout > 0 while training is not fused (its masks act inside every product)")
    not_library = library.ineligible_reason(cell, x, lengths)
    if not_library is None:
        return Plan("library", backward=backward, training=training)
    if x.device.type != "cpu":
        return Plan(None, f"rnnzoo's fused kernels run on the CPU and PyTorch's fused op does not take this layer "
                          f"on {x.device} ({not_library})")
    if x.dtype not in (torch.float32, torch.float64):
        return Plan(None, f"the fused kernels need float32 or float64, got {x.dtype}")
    engine = "native" if native_activations(cell) and build.native() is not None else "portable"
    in_loop = engine == "native" and x.dtype == torch.float32 and settings.current().projection == "auto"
    chunk_steps = None
    if not in_loop and not backward:
        step_bytes = x.shape[0] * cell.kernel.shape[1] * x.element_size()
        chunk_steps = max(MIN_CHUNK_STEPS, CHUNK_BYTES // max(1, step_bytes))
    return Plan("kernels", engine=engine, projection="in_loop" if in_loop else "hoisted", chunk_steps=chunk_steps,
                backward=backward, training=training, segment_steps=segment_steps(cell, x) if backward else None)


def segment_steps(cell: CellSpec, x: torch.Tensor) -> int | None:
    """Steps per recomputed segment in low memory, or None to keep every step's gates and states."""
    memory, steps = settings.current().memory, x.shape[1]
    states = 2 if cell.kind == Kind.LSTM else 1
    kept = x.shape[0] * steps * (cell.kernel.shape[1] + states * cell.units) * x.element_size()
    if memory == "full" or (memory == "auto" and kept <= LOW_MEMORY_BYTES) or steps < 4:
        return None
    return math.ceil(math.sqrt(steps))


def native_activations(cell: CellSpec) -> bool:
    """True when the C++ kernels implement the cell's activations."""
    gated = cell.recurrent_activation is not None
    return cell.activation_code is not None and (not gated or cell.recurrent_activation_code is not None)


def run(plan: Plan, cell: CellSpec, x: torch.Tensor, state: tuple, lengths: torch.Tensor | None,
        return_sequences: bool) -> tuple:
    """Runs a plan: (outputs (B, T, U), or None without return_sequences; the final state)."""
    if plan.route == "library":
        return library.run(cell, x, state, return_sequences, plan.training)
    if plan.route == "kernels":
        threads.update()
        return fused.run(plan, cell, x, state, lengths, return_sequences)
    raise ValueError(f"no fused route to run: {plan.reason}")
