"""PyTorch's own fused recurrent ops, fed rnnzoo's Keras-layout weights: cuDNN on CUDA, oneDNN on CPU.

For the configurations those libraries implement — SimpleRNN with tanh or relu, LSTM and GRU
(reset_after=True) with tanh and a sigmoid recurrent activation, no per-sequence lengths — the
whole layer is one call of `torch._VF.rnn_tanh / rnn_relu / lstm / gru` on weights derived from
rnnzoo's parameters inside the autograd graph (transposed views; GRU's gate blocks reordered by a
copy each call), so gradients reach the Keras-layout parameters and nothing is kept twice:

    torch weight_ih (G·U, F) = kernel.T            torch weight_hh (G·U, U) = recurrent_kernel.T
    LSTM gates i f g o  = Keras i f c o            GRU gates r z n  = Keras z r h, reordered
    torch b_ih = the input bias, b_hh = GRU's recurrent bias (zeros for SimpleRNN and LSTM)

Torch's equations are Keras' for these cells (GRU: n = tanh(x W_n + b_n + r * (h U_n + b_hn)),
h' = (1 - z) n + z h, which is Keras' reset_after=True). Which cells take this route on which
device is `ROUTES`, chosen by measurement (benchmarks/): on CUDA all three cells; on the CPU none,
since rnnzoo's kernels beat torch's CPU RNN and GRU and, since they run every product on their own
packed GEMM, oneDNN's LSTM too in training (one LSTM layer, batch 64, T 28: 0.95-0.99x this
route's time for F/U = 28/256, 64/64, 256/256, 256/1024). At inference they beat this route too
(0.88-0.95x) but not torch's own nn.LSTM, which needs no transposed weights (1.1-1.25x faster).
"""

import warnings

import torch

from .portable import GRU, LSTM, SIMPLE

ROUTES = {"cpu": set(), "cuda": {SIMPLE, LSTM, GRU}}  # device type -> cell kinds sent to the library


def ineligible_reason(kind: int, cell, x: torch.Tensor, lengths) -> str | None:
    """Why PyTorch's fused op can't (or shouldn't, see ROUTES) run this cell, or None."""
    if kind not in ROUTES.get(x.device.type, ()):
        return f"not routed to PyTorch's fused ops on {x.device.type}"
    if lengths is not None:
        return "per-sequence lengths"
    if kind == SIMPLE and cell.activation not in (torch.tanh, torch.relu):
        return "SimpleRNN activation other than tanh or relu"
    if kind != SIMPLE and (cell.activation is not torch.tanh or cell.recurrent_activation is not torch.sigmoid):
        return "activation other than tanh, or recurrent activation other than sigmoid"
    if kind == GRU and not cell.reset_after:
        return "GRU(reset_after=False)"
    return None


def _gru_order(w: torch.Tensor, units: int) -> torch.Tensor:
    """Keras' (z, r, h) blocks along the last dimension -> torch's (r, z, n)."""
    z, r, h = w.split(units, dim=-1)
    return torch.cat([r, z, h], dim=-1)


def weights(kind: int, cell) -> list[torch.Tensor]:
    """[weight_ih, weight_hh, bias_ih, bias_hh] in torch's layout, views of the cell's parameters."""
    kernel, recurrent = cell.kernel, cell.recurrent_kernel
    bias = cell.bias
    if kind == GRU:
        kernel, recurrent = _gru_order(kernel, cell.units), _gru_order(recurrent, cell.units)
        if bias is not None:
            bias = _gru_order(bias, cell.units)  # (2, 3U): input and recurrent bias
    flat = [kernel.t(), recurrent.t()]
    if bias is None:
        return flat
    if kind == GRU:
        return flat + [bias[0], bias[1]]
    return flat + [bias, torch.zeros_like(bias)]


def run(kind: int, cell, x: torch.Tensor, state: tuple, return_sequences: bool, training: bool):
    """The layer over x (B, T, F): (outputs (B, T, U) or None, final state)."""
    params = weights(kind, cell)
    has_biases = cell.bias is not None
    hx = tuple(s.unsqueeze(0) for s in state)  # (1, B, U): one layer, one direction
    args = (has_biases, 1, 0.0, training, False, True)  # layers, dropout, train, bidirectional, batch_first
    with warnings.catch_warnings():
        # cuDNN copies weights that are not one flat buffer into one, and says so; ours are
        # views of Keras-layout parameters by design, and the copy is small next to the layer.
        warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")
        if kind == LSTM:
            outputs, h, c = torch._VF.lstm(x, hx, params, *args)
            return (outputs if return_sequences else None), (h[0], c[0])
        relu = cell.activation is torch.relu
        op = torch._VF.gru if kind == GRU else (torch._VF.rnn_relu if relu else torch._VF.rnn_tanh)
        outputs, h = op(x, hx[0], params, *args)
    return (outputs if return_sequences else None), (h[0],)
