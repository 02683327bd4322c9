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
device is `ROUTES`, chosen by measurement (docs/performance.md): on CUDA all three cells; on the
CPU none, where rnnzoo's kernels are the faster.
"""

import warnings

import torch

from .cell import ACTIVATION_CODES, CellSpec, Kind

TANH, SIGMOID, RELU = (ACTIVATION_CODES[name] for name in ("tanh", "sigmoid", "relu"))

ROUTES = {"cpu": set(), "cuda": {Kind.SIMPLE, Kind.LSTM, Kind.GRU}}  # device type -> cell kinds sent to the library


def ineligible_reason(cell: CellSpec, x: torch.Tensor, lengths) -> str | None:
    """Why PyTorch's fused op can't (or shouldn't, see ROUTES) run this cell, or None."""
    if cell.kind not in ROUTES.get(x.device.type, ()):
        return f"not routed to PyTorch's fused ops on {x.device.type}"
    if lengths is not None:
        return "per-sequence lengths"
    if cell.kind == Kind.SIMPLE and cell.activation_code not in (TANH, RELU):
        return "SimpleRNN activation other than tanh or relu"
    if cell.kind != Kind.SIMPLE and (cell.activation_code != TANH or cell.recurrent_activation_code != SIGMOID):
        return "activation other than tanh, or recurrent activation other than sigmoid"
    return None


def _gru_order(w: torch.Tensor, units: int) -> torch.Tensor:
    """Keras' (z, r, h) blocks along the last dimension -> torch's (r, z, n)."""
    z, r, h = w.split(units, dim=-1)
    return torch.cat([r, z, h], dim=-1)


def weights(cell: CellSpec) -> list[torch.Tensor]:
    """[weight_ih, weight_hh, bias_ih, bias_hh] in torch's layout, views of the cell's parameters."""
    kernel, recurrent = cell.kernel, cell.recurrent_kernel
    input_bias, recurrent_bias = cell.input_bias, cell.recurrent_bias
    if cell.kind == Kind.GRU:
        units = cell.units
        kernel, recurrent = _gru_order(kernel, units), _gru_order(recurrent, units)
        if input_bias is not None:
            input_bias, recurrent_bias = _gru_order(input_bias, units), _gru_order(recurrent_bias, units)
    flat = [kernel.t(), recurrent.t()]
    if input_bias is None:
        return flat
    return flat + [input_bias, torch.zeros_like(input_bias) if recurrent_bias is None else recurrent_bias]


def run(cell: CellSpec, x: torch.Tensor, state: tuple, return_sequences: bool, training: bool):
    """The layer over x (B, T, F): (outputs (B, T, U) or None, final state)."""
    params = weights(cell)
    has_biases = cell.input_bias is not None
    hx = tuple(s.unsqueeze(0) for s in state)  # (1, B, U): one layer, one direction
    args = (has_biases, 1, 0.0, training, False, True)  # layers, dropout, train, bidirectional, batch_first
    with warnings.catch_warnings():
        # cuDNN copies weights that are not one flat buffer into one, and says so; ours are
        # views of Keras-layout parameters by design, and the copy is small next to the layer.
        warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")
        if cell.kind == Kind.LSTM:
            outputs, h, c = torch._VF.lstm(x, hx, params, *args)
            return (outputs if return_sequences else None), (h[0], c[0])
        relu = cell.activation_code == RELU
        op = torch._VF.gru if cell.kind == Kind.GRU else (torch._VF.rnn_relu if relu else torch._VF.rnn_tanh)
        outputs, h = op(x, hx[0], params, *args)
    return (outputs if return_sequences else None), (h[0],)
