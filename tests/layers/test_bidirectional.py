"""Bidirectional: each merge mode, states and padded lengths against the reference."""

import pytest
import torch

import rnnzoo

from . import reference
from .test_recurrent import LAYERS, B, F, T, U, TOL, inputs

MERGES = {
    "concat": lambda f, b: torch.cat([f, b], -1),
    "sum": lambda f, b: f + b,
    "mul": lambda f, b: f * b,
    "ave": lambda f, b: (f + b) / 2,
}


def make(kind, merge_mode="concat", **options):
    torch.manual_seed(0)
    layer = rnnzoo.Bidirectional(LAYERS[kind](U, input_dim=F, **options), merge_mode=merge_mode)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return layer.double()


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("merge_mode", [*MERGES, None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_bidirectional_matches_reference(kind, merge_mode, return_sequences, padded):
    layer = make(kind, merge_mode, return_sequences=return_sequences, return_state=True)
    x = inputs()
    lengths = torch.tensor([7, 1, 4, 6, 3]) if padded else None
    output, *states = layer(x, lengths)
    n = len(states) // 2
    for b in range(B):
        length = T if lengths is None else int(lengths[b])
        fwd, fwd_state = reference.run(layer.forward_layer, x[b, :length])
        bwd, bwd_state = reference.run(layer.backward_layer, x[b, :length])
        if return_sequences:
            fwd, bwd = fwd, bwd.flip(0)  # the backward outputs, put back in time order
        else:
            fwd, bwd = fwd[-1], bwd[-1]
        got = output if merge_mode else output  # pair when merge_mode is None
        if merge_mode is None:
            got_f, got_b = (o[b, :length] if return_sequences else o[b] for o in output)
            torch.testing.assert_close(got_f, fwd, **TOL)
            torch.testing.assert_close(got_b, bwd, **TOL)
        else:
            want = MERGES[merge_mode](fwd, bwd)
            torch.testing.assert_close(got[b, :length] if return_sequences else got[b], want, **TOL)
        for got_s, want_s in zip(states, (*fwd_state, *bwd_state)):
            torch.testing.assert_close(got_s[b], want_s, **TOL)
    assert n == layer.forward_layer.cell.state_count


def test_backward_copy_is_fresh_and_reversed():
    layer = rnnzoo.Bidirectional(rnnzoo.LSTM(8, input_dim=3, activation="relu"))
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    assert layer.backward_layer.get_config()["activation"] == "relu"
    assert not torch.equal(layer.forward_layer.cell.kernel, layer.backward_layer.cell.kernel)
    assert layer.count_params() == 2 * 4 * 8 * (3 + 8 + 1)


def test_bidirectional_errors():
    with pytest.raises(ValueError, match="merge_mode"):
        rnnzoo.Bidirectional(rnnzoo.LSTM(4), merge_mode="max")
    with pytest.raises(TypeError, match="recurrent layer"):
        rnnzoo.Bidirectional(rnnzoo.Dense(4))
    with pytest.raises(ValueError, match="opposite direction"):
        rnnzoo.Bidirectional(rnnzoo.LSTM(4), backward_layer=rnnzoo.LSTM(4))


def test_bidirectional_wraps_rnn_of_cells_with_a_fresh_backward_copy():
    torch.manual_seed(0)
    x = torch.randn(B, T, F)
    for cell in (rnnzoo.LSTMCell(U), [rnnzoo.SimpleRNNCell(3), rnnzoo.GRUCell(U)]):
        layer = rnnzoo.Bidirectional(rnnzoo.RNN(cell, return_sequences=True))
        forward, backward = layer.forward_layer, layer.backward_layer
        assert type(backward) is rnnzoo.RNN and backward.go_backwards and not forward.go_backwards
        got = layer(x)
        want = torch.cat([forward(x), backward(x).flip(1)], dim=-1)
        torch.testing.assert_close(got, want)
        pairs = list(zip(forward.cell.parameters(), backward.cell.parameters()))
        assert len(pairs) == len(list(forward.cell.parameters())) > 0
        assert all(f is not b and f.shape == b.shape for f, b in pairs)
        assert not torch.equal(pairs[0][0], pairs[0][1])  # weights drawn anew, not shared or copied


def test_a_built_cell_is_copied_with_weights_drawn_again():
    cell = rnnzoo.GRUCell(U)
    cell.build(F)
    layer = rnnzoo.Bidirectional(rnnzoo.RNN(cell))
    assert layer.backward_layer.cell is not cell
    assert not torch.equal(layer.backward_layer.cell.kernel, cell.kernel)
    assert layer.backward_layer.cell.kernel.shape == cell.kernel.shape


def test_a_users_cell_is_recreated_from_its_config_or_refused_in_one_line():
    from .test_cells import MinimalRNNCell

    class Configured(MinimalRNNCell):
        def get_config(self):
            return {"units": self.units}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    x = torch.randn(B, T, F, dtype=torch.float64)
    built = Configured(U)
    built.build(F)
    layer = rnnzoo.Bidirectional(rnnzoo.RNN(built))
    assert type(layer.backward_layer.cell.inner) is Configured and layer.backward_layer.cell.inner is not built
    assert layer(x).shape == (B, 2 * U)
    unbuilt = rnnzoo.Bidirectional(rnnzoo.RNN(MinimalRNNCell(U)))  # no weights yet: a copy builds its own
    assert unbuilt(x).shape == (B, 2 * U)
    assert unbuilt.backward_layer.cell.inner is not unbuilt.forward_layer.cell.inner
    plain = MinimalRNNCell(U)
    plain.build(F)
    with pytest.raises(TypeError, match="backward_layer") as error:
        rnnzoo.Bidirectional(rnnzoo.RNN(plain))
    assert "\n" not in str(error.value)
