"""The gradient norm through time, ‖∂L/∂h_t‖ against t, from a trained run's weights.

h_t is the output sequence of the model's first layer that returns one (the first recurrent
layer in the shipped models); for a model with no such layer it is the input x_t. The loss is the
training loss on one test batch, in eval mode (no dropout). Vanishing gradients show as norms
that fall by orders of magnitude from the last step back to the first.
"""

import torch
import torch.nn.functional as F

from ..lab.run import load_run


def loss_of(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The training loss for this output: cross-entropy on class targets, else squared error."""
    if target.dtype in (torch.int64, torch.int32) and output.dim() == target.dim() + 1:
        return F.cross_entropy(output.flatten(0, -2), target.flatten())
    return F.mse_loss(output.float(), target.float().reshape(output.shape))


def gradient_norms(run_dir, x: torch.Tensor, y: torch.Tensor) -> dict:
    """{"what": "h_t of <layer>" or "x_t", "norms": [‖∂L/∂h_t‖ averaged over the batch, per t]}."""
    _, model = load_run(run_dir)
    model.eval()
    x = x.clone().requires_grad_(True)
    watched, what, h = x, "x_t", x
    for layer in model.layers:
        h = layer(h)
        if watched is x and h.dim() == 3 and h.requires_grad:
            h.retain_grad()
            watched, what = h, f"h_t of {layer.name}"
    loss_of(h, y).backward()
    norms = watched.grad.float().norm(dim=-1).mean(dim=0)  # (T,)
    return {"what": what, "norms": norms.tolist()}
