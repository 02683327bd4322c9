"""Naive references written straight from Keras' documented equations.

One sequence at a time, one step at a time, every gate its own matrix product, in float64 — no
code shared with rnnzoo's layers except reading their weights. Keras reads a go_backwards
sequence from its last step to its first and returns the outputs in that reading order.
"""

import torch

from rnnzoo.layers import activations


def _blocks(weight, n):
    return [w for w in weight.detach().double().chunk(n, dim=-1)]


def simple_rnn(layer, x, h0=None, masks=None):
    cell = layer.cell
    act = activations.get(cell.activation_name)
    W, U = cell.kernel.detach().double(), cell.recurrent_kernel.detach().double()
    b = cell.bias.detach().double() if cell.bias is not None else 0.0
    m_in, m_rec = masks or (None, None)
    h = torch.zeros(cell.units, dtype=torch.float64) if h0 is None else h0[0].double()
    outputs = []
    for x_t in _order(layer, x):
        x_t = x_t if m_in is None else x_t * m_in[0]
        h_prev = h if m_rec is None else h * m_rec[0]
        h = act(x_t @ W + b + h_prev @ U)
        outputs.append(h)
    return torch.stack(outputs), (h,)


def lstm(layer, x, h0=None, masks=None):
    cell = layer.cell
    recurrent_activation = activations.get(layer.get_config()["recurrent_activation"])
    act = activations.get(cell.activation_name)
    Wi, Wf, Wc, Wo = _blocks(cell.kernel, 4)
    Ui, Uf, Uc, Uo = _blocks(cell.recurrent_kernel, 4)
    bi, bf, bc, bo = _blocks(cell.bias, 4) if cell.bias is not None else [0.0] * 4
    m_in, m_rec = masks or (None, None)
    mi = [None] * 4 if m_in is None else [m_in[g % len(m_in)] for g in range(4)]
    mr = [None] * 4 if m_rec is None else [m_rec[g % len(m_rec)] for g in range(4)]
    drop = lambda v, m: v if m is None else v * m
    if h0 is None:
        h, c = torch.zeros(cell.units, dtype=torch.float64), torch.zeros(cell.units, dtype=torch.float64)
    else:
        h, c = h0[0].double(), h0[1].double()
    outputs = []
    for x_t in _order(layer, x):
        i = recurrent_activation(drop(x_t, mi[0]) @ Wi + drop(h, mr[0]) @ Ui + bi)
        f = recurrent_activation(drop(x_t, mi[1]) @ Wf + drop(h, mr[1]) @ Uf + bf)
        c = f * c + i * act(drop(x_t, mi[2]) @ Wc + drop(h, mr[2]) @ Uc + bc)
        o = recurrent_activation(drop(x_t, mi[3]) @ Wo + drop(h, mr[3]) @ Uo + bo)
        h = o * act(c)
        outputs.append(h)
    return torch.stack(outputs), (h, c)


def gru(layer, x, h0=None, masks=None):
    cell = layer.cell
    recurrent_activation = activations.get(layer.get_config()["recurrent_activation"])
    act = activations.get(cell.activation_name)
    Wz, Wr, Wh = _blocks(cell.kernel, 3)
    Uz, Ur, Uh = _blocks(cell.recurrent_kernel, 3)
    if cell.bias is None:
        bz = br = bh = rz = rr = rh = 0.0
    elif cell.reset_after:
        (bz, br, bh), (rz, rr, rh) = _blocks(cell.bias[0], 3), _blocks(cell.bias[1], 3)
    else:
        (bz, br, bh), (rz, rr, rh) = _blocks(cell.bias, 3), (0.0, 0.0, 0.0)
    m_in, m_rec = masks or (None, None)
    mi = [None] * 3 if m_in is None else [m_in[g % len(m_in)] for g in range(3)]
    mr = [None] * 3 if m_rec is None else [m_rec[g % len(m_rec)] for g in range(3)]
    drop = lambda v, m: v if m is None else v * m
    h = torch.zeros(cell.units, dtype=torch.float64) if h0 is None else h0[0].double()
    outputs = []
    for x_t in _order(layer, x):
        z = recurrent_activation(drop(x_t, mi[0]) @ Wz + bz + drop(h, mr[0]) @ Uz + rz)
        r = recurrent_activation(drop(x_t, mi[1]) @ Wr + br + drop(h, mr[1]) @ Ur + rr)
        if cell.reset_after:
            hh = act(drop(x_t, mi[2]) @ Wh + bh + r * (drop(h, mr[2]) @ Uh + rh))
        else:
            hh = act(drop(x_t, mi[2]) @ Wh + bh + (r * drop(h, mr[2])) @ Uh)
        h = z * h + (1 - z) * hh
        outputs.append(h)
    return torch.stack(outputs), (h,)


def _order(layer, x):
    x = x.double()
    return x.flip(0) if layer.go_backwards else x


REFERENCES = {"SimpleRNN": simple_rnn, "LSTM": lstm, "GRU": gru}


def run(layer, x, h0=None, masks=None):
    """Reference (outputs (T, U), final state) of a recurrent layer on one sequence x (T, F)."""
    return REFERENCES[type(layer).__name__](layer, x, h0, masks)
