"""The gradient norm through time, ‖∂L/∂h_t‖ against t, from a trained run's weights.

h_t is the hidden state of the model's first recurrent layer at step t, and ∂L/∂h_t its total
derivative: through the output at t and through every later step of the recurrence. To have each
h_t as a node of the graph, that layer is run as its reference loop, one step at a time (the same
equations as its fused kernels; eval mode, so no dropout). A model with no recurrent layer (the
Transformer, which sees every step directly) is measured at its input, ∂L/∂x_t. The loss is the
task's training loss on one test batch. Vanishing gradients show as norms that fall by orders of
magnitude from the last steps back to the first.
"""

import torch

from ..lab.run import load_run
from ..layers import RNN
from ..layers.minimal import MinimalRNN


def unrolled_states(layer, x: torch.Tensor) -> list[torch.Tensor]:
    """The hidden states h_1..h_T of a forward-running recurrent layer, step by step: [(B, U)] × T."""
    batch = x.shape[0]
    if not layer.built:
        layer.build((None, *x.shape[1:]))
    states = []
    if isinstance(layer, RNN):
        projected = layer.cell.project_inputs(x, None)  # (B, T, gates·U)
        state = layer.cell.initial_state(batch, x)
        for t in range(x.shape[1]):
            state = layer.cell.step(projected[:, t], state, None)
            states.append(state[0])
    else:  # MinimalRNN: h_t = a_t ⊙ h_{t-1} + b_t, a and b from x_t alone
        z = x @ layer.kernel if layer.bias is None else x @ layer.kernel + layer.bias
        a, b = layer.coefficients(z)
        h = layer._initial_state(None, batch, x)
        for a_t, b_t in zip(a.unbind(1), b.unbind(1)):
            h = a_t * h + b_t
            states.append(h)
    return states


def gradient_norms(run_dir, task, x: torch.Tensor, y: torch.Tensor) -> dict:
    """{"what": "h_t of <layer>" or "x_t", "norms": [‖∂L/∂h_t‖ averaged over the batch, per t]}."""
    _, model = load_run(run_dir)
    model.eval()
    x = x.clone().requires_grad_(True)
    watched, what, h = [x], "x_t", x
    for layer in model.layers:
        if what == "x_t" and isinstance(layer, (RNN, MinimalRNN)) and not layer.go_backwards:
            states = unrolled_states(layer, h)
            for state in states:
                state.retain_grad()
            watched, what = states, f"h_t of {layer.name}"
            h = torch.stack(states, dim=1) if layer.return_sequences else states[-1]
        else:
            h = layer(h)
    task.objective.loss(h, y).backward()
    if what == "x_t":
        norms = x.grad.float().norm(dim=-1).mean(dim=0)  # (T,)
    else:
        norms = torch.stack([s.grad.float().norm(dim=-1).mean() for s in watched])
    return {"what": what, "norms": norms.tolist()}
