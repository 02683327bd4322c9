"""torch.autograd.gradcheck of the fused runner's hand-written backward, in float64, small sizes."""

import pytest
import torch

import rnnzoo

LAYERS = {"SimpleRNN": rnnzoo.SimpleRNN, "LSTM": rnnzoo.LSTM, "GRU": rnnzoo.GRU}


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear", "elu"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_gradcheck(kind, activation, go_backwards, return_sequences, padded):
    torch.manual_seed(0)
    layer = LAYERS[kind](3, input_dim=2, activation=activation, go_backwards=go_backwards,
                         return_sequences=return_sequences, return_state=True, backend="fused").double()
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(2, 3, 2, dtype=torch.float64, requires_grad=True)
    h0 = [torch.randn(2, 3, dtype=torch.float64, requires_grad=True) for _ in range(layer.cell.state_count)]
    lengths = torch.tensor([3, 2]) if padded else None
    assert torch.autograd.gradcheck(lambda x, *args: layer(x, lengths, initial_state=list(args[: len(h0)])),
                                    (x, *h0, *layer.parameters()))
