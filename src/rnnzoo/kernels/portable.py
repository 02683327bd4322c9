"""The fused runner's pure-PyTorch engine: same contract as the native kernels, any activation.

It is used where the native kernels can't run: no C++ compiler (with one warning from
`build.py`), or an activation the C++ code doesn't know (elu, gelu, a user's callable...). What
makes the fused path fast is kept: the input projection was hoisted over time by the caller, no
autograd graph is built over the T steps, and dU is one (U, T·B) @ (T·B, G·U) product after the
loop instead of T small ones. Backward walks the steps in reverse and differentiates only the
pointwise part of each step with autograd (recomputed from the saved inputs of that step), so any
elementwise activation works; the matrix products are done by hand.

Contract (shared with native/recurrent.cpp through fused.py; B batch, T steps, U units, G gates):
    forward(cell, xp, U, brec, h0, c0, lengths) -> Y (B, T, U), final state (h_T,) or (h_T, c_T), saved
    backward(cell, xp, U, has_brec, saved, dY, dh_T, dc_T, lengths, need_dh0)
        -> dxp, dU, dbrec, dh0 (None unless need_dh0), dc0
with `cell` the cell's record (its kind and activations), Y = h_1..h_T and dxp batch-major like xp,
`saved` the engine's own tensors for its backward, and any of dY, dh_T, dc_T None when the loss
does not use that output.
"""

import torch

from .cell import CellSpec, Kind


# -- one step's pointwise part, as the cells compute it (x: x_t W + b, rec: h_{t-1} U [+ b_rec]) --
def simple_step(x, rec, state, ra, act):
    return (act(x + rec),)


def lstm_step(x, rec, state, ra, act):
    h, c = state
    z_i, z_f, z_c, z_o = (x + rec).chunk(4, dim=-1)
    c = ra(z_f) * c + ra(z_i) * act(z_c)
    return ra(z_o) * act(c), c


def gru_step(x, rec, state, ra, act):  # reset_after=True
    (h,) = state
    x_z, x_r, x_h = x.chunk(3, dim=-1)
    h_z, h_r, h_h = rec.chunk(3, dim=-1)
    z = ra(x_z + h_z)
    r = ra(x_r + h_r)
    return (z * h + (1 - z) * act(x_h + r * h_h),)


STEPS = {Kind.SIMPLE: simple_step, Kind.LSTM: lstm_step, Kind.GRU: gru_step}


def _recurrent(h, U, brec):
    return h @ U if brec is None else torch.addmm(brec, h, U)


def forward(cell: CellSpec, xp, U, brec, h0, c0, lengths):
    step, ra, act = STEPS[cell.kind], cell.recurrent_activation, cell.activation
    state = (h0,) if c0 is None else (h0, c0)
    states, recs = [state], []
    for t in range(xp.shape[1]):
        rec = _recurrent(state[0], U, brec)  # (B, G·U)
        new = step(xp[:, t], rec, state, ra, act)
        if lengths is not None:
            running = (t < lengths)[:, None]
            new = tuple(torch.where(running, n, o) for n, o in zip(new, state))
        state = new
        states.append(state)
        recs.append(rec)
    H = torch.stack([s[0] for s in states])  # (T+1, B, U)
    C = torch.stack([s[1] for s in states]) if c0 is not None else None
    Y = H[1:].transpose(0, 1).contiguous()
    saved = (H, C, torch.stack(recs))  # with the recurrent products (T, B, G·U)
    return Y, tuple(s.clone() for s in state), saved


def backward(cell: CellSpec, xp, U, has_brec, saved, dY, dh_T, dc_T, lengths, need_dh0):
    H, C, recs = saved
    step, ra, act = STEPS[cell.kind], cell.recurrent_activation, cell.activation
    steps = xp.shape[1]
    # the gradients of every state h_0..h_T (and c_0..c_T) from outside the loop
    dH = torch.zeros_like(H)
    if dY is not None:
        dH[1:] += dY.transpose(0, 1)
    if dh_T is not None:
        dH[steps] += dh_T
    dC = None
    if C is not None:
        dC = torch.zeros_like(C)
        if dc_T is not None:
            dC[steps] += dc_T
    dxs, drecs = [None] * steps, [None] * steps
    d_state = (dH[steps],) if C is None else (dH[steps], dC[steps])
    for t in reversed(range(steps)):
        x_t = xp[:, t].detach().requires_grad_()
        rec_t = recs[t].detach().requires_grad_()
        prev = tuple(s[t].detach().requires_grad_() for s in ((H,) if C is None else (H, C)))
        with torch.enable_grad():
            new = step(x_t, rec_t, prev, ra, act)
            inputs = (x_t, rec_t, *prev)
            grads = torch.autograd.grad(new, inputs, d_state, allow_unused=True)
        dx, drec, *d_prev = [torch.zeros_like(i) if g is None else g for g, i in zip(grads, inputs)]
        if lengths is not None:  # padded rows: nothing happened at this step
            running = (t < lengths)[:, None]
            dx, drec = dx * running, drec * running
            d_prev = [torch.where(running, d, carried) for d, carried in zip(d_prev, d_state)]
        dxs[t], drecs[t] = dx, drec
        if t == 0 and not need_dh0:  # the last product would only make dh_0
            d_prev[0] = None
        else:
            d_prev[0] = d_prev[0] + drec @ U.t() + dH[t]
        if C is not None:
            d_prev[1] = d_prev[1] + dC[t]
        d_state = tuple(d_prev)
    DX, DR = torch.stack(dxs, dim=1), torch.stack(drecs, dim=1)  # (B, T, G·U)
    B, units = H.shape[1], H.shape[2]
    H_prev = H[:steps].transpose(0, 1).reshape(B * steps, units)  # rows in DR's order
    dU = H_prev.t() @ DR.reshape(B * steps, -1)  # all steps in one GEMM
    dbrec = DR.sum((0, 1)) if has_brec else None
    return DX, dU, dbrec, d_state[0], (d_state[1] if C is not None else None)
