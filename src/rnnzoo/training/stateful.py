"""Training a stateful model (Keras' `stateful=True`): batch k+1 continues batch k's sequences.

Sample b of every batch is the next piece of stream b, so a stateful model is fed its batches in
order, never shuffled, all of the same size (the first call fixes the kept state's batch size),
and its kept state goes back to zeros where a pass over the data begins and ends (Keras users
reset it in an epoch-end callback). The state's gradient stops at each batch's first step:
truncated backpropagation through time, one batch's steps long.
"""

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
