"""Keras' masks: a (batch, time) boolean tensor saying which steps a recurrent layer reads.

A masked step (False) is skipped: the state is carried over it unchanged, and the output there is
the previous step's output (zeros before the first valid step), or zeros with
`zero_output_for_mask=True`. Holes may lie anywhere, including at the start (left padding). With
go_backwards the sequence and its mask are reversed together, as in Keras.

The reference loop applies a mask step by step (`rnn.RNN._run_reference`). The fused kernels
take per-sequence lengths instead, and a mask reduces to them: because a masked step changes
nothing, a sequence gives the same states as its valid steps packed to the front (`compact`),
which is an end-padded batch; the outputs are then spread back to the steps they belong to
(`spread`). So a masked batch runs on the fused kernels whenever an unmasked one would.

`Masking(mask_value)` makes the mask from the data, as Keras' layer does: a step is valid unless
all its features equal mask_value. In a `Sequential` the mask travels on to the next layers:
unchanged through Dense, Dropout and Activation, through a recurrent layer only if it returns
sequences.
"""

import torch

from .layer import Layer, keeps_config


def check_mask(mask, batch: int, steps: int, device: torch.device) -> torch.Tensor | None:
    if mask is None:
        return None
    mask = torch.as_tensor(mask, device=device)
    if mask.shape != (batch, steps):
        raise ValueError(f"mask must have shape ({batch}, {steps}), (batch, time), got {tuple(mask.shape)}")
    if mask.dtype.is_floating_point:
        raise ValueError(f"mask must be boolean (True marks a step to read), got {mask.dtype}")
    return mask.bool()


def compact(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each sequence's valid steps moved to the front, in order: (x (B, T', F), lengths (B,)).

    T' is the largest count of valid steps (at least 1). A sequence with no valid step gets
    length 1 and garbage there; the caller keeps its initial state (see `masked_final_state`).
    """
    counts = mask.sum(1)  # (B,)
    order = torch.sort((~mask).to(torch.int8), dim=1, stable=True).indices  # valid steps first
    steps = max(1, int(counts.max()))
    order = order[:, :steps, None].expand(-1, -1, x.shape[-1])
    return x.gather(1, order), counts.clamp(min=1)


def spread(outputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Compacted outputs (B, T', U) back to every step (B, T, U): at step t the output of the
    last valid step up to t (Keras' "previous output"), zeros before the first one."""
    seen = mask.long().cumsum(1)  # (B, T): valid steps read so far
    index = (seen - 1).clamp(min=0)[..., None].expand(-1, -1, outputs.shape[-1])
    return torch.where((seen > 0)[..., None], outputs.gather(1, index), 0.0)


def masked_final_state(state: tuple, initial: tuple, mask: torch.Tensor) -> tuple:
    """The compacted run's final state, except the initial state where no step was valid."""
    any_valid = mask.any(1)[:, None]  # (B, 1)
    return tuple(torch.where(any_valid, s, s0) for s, s0 in zip(state, initial))


class Masking(Layer):
    """Keras' `Masking(mask_value=0.0)`: marks a step invalid when every feature equals mask_value.

    Its output is the input with the masked steps zeroed (as Keras), and it hands the mask to the
    next layers of a Sequential; `compute_mask(x)` returns it.
    """

    supports_masking = True

    @keeps_config
    def __init__(self, mask_value: float = 0.0, name: str | None = None):
        super().__init__(name)
        self.mask_value = float(mask_value)
        self.built = True

    def compute_mask(self, inputs: torch.Tensor, mask=None) -> torch.Tensor:
        return (inputs != self.mask_value).any(dim=-1)

    def forward(self, x: torch.Tensor, lengths=None, mask=None) -> torch.Tensor:
        return x * self.compute_mask(x)[..., None].to(x.dtype)

    def extra_repr(self) -> str:
        return f"name={self.name!r}, mask_value={self.mask_value}"
