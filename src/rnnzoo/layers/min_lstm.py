"""minLSTM (Feng et al. 2024, https://arxiv.org/abs/2410.01201, section 3.2 and appendix A).

An LSTM whose gates and candidate read x_t only, with the forget and input gates normalised so
that the state stays a weighted mean of past candidates (time-independent in scale):

    v, k_f, k_i = x_t W + b              blocks in this order: candidate, forget, input
    f_t, i_t    = sigmoid(k_f), sigmoid(k_i)
    f'_t, i'_t  = f_t / (f_t + i_t), i_t / (f_t + i_t)
    h~_t        = g(v)                   g(v) = v + 0.5 for v ≥ 0, sigmoid(v) below: positive
    h_t         = f'_t ⊙ h_{t-1} + i'_t ⊙ h~_t

so a_t = f'_t and b_t = i'_t ⊙ h~_t (minimal.py runs the scan). In log space, with
d = softplus(-k_f) - softplus(-k_i) = log(i_t / f_t): log f' = -softplus(d), log i' = -softplus(-d).
Parameters: 3·U·(F + 1) with bias.
"""

import torch
import torch.nn.functional as F

from .minimal import MinimalRNN, g, log_g


class MinLSTM(MinimalRNN):
    """minLSTM as a layer: input (B, T, F); output (B, U), or (B, T, U) with return_sequences;
    return_state adds the final h. kernel (F, 3U) glorot_uniform, bias (3U,) zeros."""

    gates = 3

    def coefficients(self, z: torch.Tensor):
        v, k_f, k_i = z.chunk(3, dim=-1)
        f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
        return f / (f + i), i / (f + i) * g(v)

    def log_coefficients(self, z: torch.Tensor):
        v, k_f, k_i = z.chunk(3, dim=-1)
        d = F.softplus(-k_f) - F.softplus(-k_i)
        return -F.softplus(d), -F.softplus(-d) + log_g(v)
