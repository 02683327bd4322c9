"""minGRU (Feng et al. 2024, https://arxiv.org/abs/2410.01201, section 3.1 and appendix A).

A GRU whose update gate and candidate read x_t only, with no reset gate:

    k, v  = x_t W + b                    blocks in this order: candidate, gate (as minGRU-pytorch)
    z_t   = sigmoid(k)
    h~_t  = g(v)                         g(v) = v + 0.5 for v ≥ 0, sigmoid(v) below: positive
    h_t   = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h~_t

so a_t = 1 - z_t and b_t = z_t ⊙ h~_t (minimal.py runs the scan). In log space
log a = -softplus(k), log b = -softplus(-k) + log g(v). Parameters: 2·U·(F + 1) with bias.
"""

import torch
import torch.nn.functional as F

from .minimal import MinimalRNN, g, log_g


class MinGRU(MinimalRNN):
    """minGRU as a layer: input (B, T, F); output (B, U), or (B, T, U) with return_sequences;
    return_state adds the final h. kernel (F, 2U) glorot_uniform, bias (2U,) zeros."""

    gates = 2

    def coefficients(self, z: torch.Tensor):
        v, k = z.chunk(2, dim=-1)
        gate = torch.sigmoid(k)
        return 1 - gate, gate * g(v)

    def log_coefficients(self, z: torch.Tensor):
        v, k = z.chunk(2, dim=-1)
        return -F.softplus(k), -F.softplus(-k) + log_g(v)
