"""‖∂L/∂h_t‖ from the unrolled layer: its states are the layer's own, and the last step's gradient
is the one autograd gives for the layer's output."""

import pytest
import torch

from rnnzoo.layers import GRU, LSTM, MinGRU, SimpleRNN
from rnnzoo.studies.gradients import unrolled_states


@pytest.mark.parametrize("layer", [SimpleRNN(6), LSTM(5), GRU(4), MinGRU(3)], ids=lambda l: type(l).__name__)
def test_unrolled_states_equal_the_layers_output(layer):
    torch.manual_seed(0)
    layer.return_sequences = True
    x = torch.randn(3, 9, 2)
    expected = layer(x)
    states = torch.stack(unrolled_states(layer, x), dim=1)
    torch.testing.assert_close(states, expected, atol=1e-5, rtol=1e-5)


def test_gradient_at_every_step_flows_through_the_recurrence():
    torch.manual_seed(0)
    layer = SimpleRNN(4)
    x = torch.randn(2, 6, 3)
    states = unrolled_states(layer, x)
    for s in states:
        s.retain_grad()
    states[-1].sum().backward()  # a loss that reads only the last state
    # earlier states matter only through the recurrence, and their gradient is exactly W_rec^T · (later one) · tanh'
    assert all(s.grad.abs().sum() > 0 for s in states)
    h4, h5 = states[4], states[5]
    with torch.no_grad():
        derivative = 1 - h5 ** 2  # tanh'
        expected = (h5.grad * derivative) @ layer.cell.recurrent_kernel.T
    torch.testing.assert_close(h4.grad, expected)
