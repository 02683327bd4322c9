"""The gradient norm through time, ‖∂L/∂h_t‖ against t, from a trained run's weights.

h_t is the hidden state of the model's first recurrent layer at step t. A layer that returns only
its last state is run returning all of them (the same computation; the rest of the model still
sees the last one), so every h_t is in the graph. A model with no recurrent layer (the
Transformer, which sees every step directly) is measured at its input, ∂L/∂x_t. The loss is the
task's training loss on one test batch, in eval mode (no dropout). Vanishing gradients show as
norms that fall by orders of magnitude from the last steps back to the first.
"""

import torch

from ..lab.run import load_run
from ..layers import RNN
from ..layers.minimal import MinimalRNN


def gradient_norms(run_dir, task, x: torch.Tensor, y: torch.Tensor) -> dict:
    """{"what": "h_t of <layer>" or "x_t", "norms": [‖∂L/∂h_t‖ averaged over the batch, per t]}."""
    _, model = load_run(run_dir)
    model.eval()
    x = x.clone().requires_grad_(True)
    watched, what, h = x, "x_t", x
    for layer in model.layers:
        recurrent = watched is x and isinstance(layer, (RNN, MinimalRNN)) and not layer.go_backwards
        if recurrent and not layer.return_sequences:
            layer.return_sequences = True
            try:
                sequence = layer(h)
            finally:
                layer.return_sequences = False
            h = sequence[:, -1]
        else:
            sequence = h = layer(h)
        if recurrent:
            sequence.retain_grad()
            watched, what = sequence, f"h_t of {layer.name}"
    task.objective.loss(h, y).backward()
    norms = watched.grad.float().norm(dim=-1).mean(dim=0)  # (T,)
    return {"what": what, "norms": norms.tolist()}
