"""Training a stateful model (Keras' `stateful=True`): batch k+1 continues batch k's sequences.

Sample b of every batch is the next piece of stream b, so a stateful model is fed its batches in
order, never shuffled, all of the same size (the first call fixes the kept state's batch size),
and its kept state goes back to zeros where a pass over the data begins and ends (Keras users
reset it in an epoch-end callback). The state's gradient stops at each batch's first step:
truncated backpropagation through time, one batch's steps long.
"""

import torch
from torch import nn


def stateful_layers(model: nn.Module) -> list[nn.Module]:
    """The layers of model that keep their state between calls."""
    return [m for m in model.modules() if getattr(m, "stateful", False) and hasattr(m, "reset_state")
            and not any(getattr(c, "stateful", False) for c in m.children())]  # a Bidirectional's own layers


def check_stateful(model: nn.Module, examples: int, batch_size: int, shuffle: bool) -> bool:
    """The shuffle flag to use: False for a stateful model, whose batches must also all be full."""
    if not stateful_layers(model):
        return shuffle
    if examples % batch_size:
        raise ValueError(f"a stateful model needs batches of one size: {examples} examples are not a multiple of "
                         f"batch_size {batch_size}")
    return False


def reset_states(model: nn.Module) -> None:
    """Every kept state of the model to zeros."""
    for layer in stateful_layers(model):
        layer.reset_state()


class Windows:
    """Long examples cut into windows of `window` steps, in the order a stateful model reads them.

    `lanes` examples are read side by side, one per batch row, for batch_size = lanes: batch k
    holds window k of each, so each row of the model's kept state follows one example; after its
    last window the lane goes on to the next example (each lane is one long stream of examples).
    The targets are cut alike, so the task must answer at every step (e.g. copy). Examples that
    do not fill a last group of lanes are left out.
    """

    def __init__(self, examples, steps: int, window: int, lanes: int):
        if steps % window:
            raise ValueError(f"window: {window} does not divide the examples' {steps} steps")
        if len(examples) < lanes:
            raise ValueError(f"window: {len(examples)} examples cannot fill {lanes} lanes (one per batch row)")
        self.examples, self.window, self.lanes = examples, window, lanes
        self.pieces = steps // window  # windows per example
        self.groups = len(examples) // lanes

    def __len__(self) -> int:
        return self.groups * self.pieces * self.lanes

    def batch(self, indices):
        group, rest = indices // (self.pieces * self.lanes), indices % (self.pieces * self.lanes)
        piece, lane = rest // self.lanes, rest % self.lanes
        x, y, lengths = self.examples.batch(group * self.lanes + lane)
        if lengths is not None or y.dim() < 2 or y.shape[1] != x.shape[1]:
            raise ValueError("window: the task must answer at every step, with no per-example lengths")
        steps = (piece * self.window)[:, None] + torch.arange(self.window)  # (B, window)
        take = lambda t: t.gather(1, steps.view(*steps.shape, *[1] * (t.dim() - 2)).expand(-1, -1, *t.shape[2:]))
        return take(x), take(y), None
