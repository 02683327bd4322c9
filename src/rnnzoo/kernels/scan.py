"""The linear recurrence h_t = a_t ⊙ h_{t-1} + b_t over time, as one autograd node.

    forward   h_t = a_t h_{t-1} + b_t                                        t = 1..T
    backward  g_t = dH_t + a_{t+1} g_{t+1},  da_t = g_t h_{t-1},  db_t = g_t,  dh_0 = a_1 g_1

The loop of layers whose a and b come from the inputs alone (minGRU, minLSTM): a and b are made
for all steps at once, and what is left is T elementwise multiply-adds per (sequence, unit). On
the CPU that runs in native/linear_scan.cpp (float32 and float64); elsewhere, or without the
native kernels, in tensor operations a step at a time. All tensors (B, T, U), batch-major.
"""

import torch

from . import build


def linear_scan(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor) -> torch.Tensor:
    """h_1..h_T (B, T, U) of h_t = a_t ⊙ h_{t-1} + b_t from h0 (B, U)."""
    return LinearScan.apply(a, b, h0)


def native_for(x: torch.Tensor):
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
        return build.native()
    return None


class LinearScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, h0):
        module = native_for(a)
        H = module.linear_scan(a, b, h0) if module is not None else forward_steps(a, b, h0)
        ctx.save_for_backward(a, h0, H)
        return H

    @staticmethod
    def backward(ctx, dH):
        a, h0, H = ctx.saved_tensors
        module = native_for(a)
        if module is not None:
            return tuple(module.linear_scan_backward(a, h0, H, dH))
        return backward_steps(a, h0, H, dH)


def forward_steps(a, b, h0):
    h, outputs = h0, []
    for a_t, b_t in zip(a.unbind(1), b.unbind(1)):
        h = a_t * h + b_t
        outputs.append(h)
    return torch.stack(outputs, dim=1)


def backward_steps(a, h0, H, dH):
    previous = torch.cat([h0[:, None], H[:, :-1]], dim=1).unbind(1)
    carry, da, db = torch.zeros_like(h0), [], []
    for t in reversed(range(a.shape[1])):
        g = dH[:, t] + carry
        db.append(g)
        da.append(g * previous[t])
        carry = a[:, t] * g
    return torch.stack(da[::-1], dim=1), torch.stack(db[::-1], dim=1), carry
