"""A Transformer encoder, the baseline the recurrent layers are compared with ("attention wins").

Pre-LayerNorm blocks (Xiong et al. 2020, https://arxiv.org/abs/2002.04745) on torch's
`scaled_dot_product_attention`, over inputs first projected to the model width U = `units`:

    h_0 = x W_in + b_in + P                    P: sinusoidal (Vaswani et al. 2017) or learned positions
    h   = h + Attention(LN(h))                 `heads` heads of U / heads, each query attending to the
    h   = h + W_2 relu(W_1 LN(h) + b_1) + b_2  keys of its own sequence (and only earlier ones if causal)
    y   = LN(h)                                after `blocks` blocks

with dropout on the attention weights and on each residual branch. Per-sequence `lengths` mask
the padded keys, so a padded batch gives every sequence what it gives alone; padded steps
output zeros. Without return_sequences the output is each sequence's last valid step, as for
the recurrent layers. Weights as Keras' Dense: kernels (in, out), `x @ kernel + bias`.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from .core import Dense
from .layer import Layer, Shape, keeps_config
from .rnn import check_lengths

POSITIONS = ("sinusoidal", "learned")


def sinusoidal(steps: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """(steps, width): sin on even dims, cos on odd, wavelengths from 2π to 10000·2π."""
    position = torch.arange(steps, dtype=like.dtype, device=like.device)[:, None]
    even = torch.arange(0, width, 2, dtype=like.dtype, device=like.device)
    frequency = torch.exp(even * (-math.log(10000.0) / width))
    table = like.new_zeros(steps, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : width // 2]
    return table


class Block(nn.Module):
    """One pre-LN encoder block: self-attention, then a two-layer feed-forward, each residual."""

    def __init__(self, units: int, heads: int, feedforward: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.attention_norm, self.feedforward_norm = nn.LayerNorm(units), nn.LayerNorm(units)
        self.qkv = Dense(3 * units, input_dim=units, name="qkv")
        self.attention_output = Dense(units, input_dim=units, name="attention_output")
        self.hidden = Dense(feedforward, activation="relu", input_dim=units, name="hidden")
        self.output = Dense(units, input_dim=feedforward, name="output")

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        batch, steps, units = h.shape
        q, k, v = self.qkv(self.attention_norm(h)).view(batch, steps, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                                  dropout_p=self.dropout if self.training else 0.0)  # (B, heads, T, d)
        attended = attended.transpose(1, 2).reshape(batch, steps, units)
        h = h + F.dropout(self.attention_output(attended), self.dropout, self.training)
        return h + F.dropout(self.output(self.hidden(self.feedforward_norm(h))), self.dropout, self.training)


class Transformer(Layer):
    """Input (B, T, F); output (B, U), or (B, T, U) with return_sequences.

    units: the model width (divisible by heads); feedforward: the hidden width (default 4·units);
    positions: "sinusoidal" (any length) or "learned" (up to max_length steps).
    """

    @keeps_config
    def __init__(self, units: int, heads: int = 4, blocks: int = 2, feedforward: int | None = None,
                 dropout: float = 0.0, positions: str = "sinusoidal", max_length: int | None = None,
                 causal: bool = False, return_sequences: bool = False, input_dim: int | None = None,
                 name: str | None = None):
        super().__init__(name)
        for key, value in (("units", units), ("heads", heads), ("blocks", blocks), ("feedforward", feedforward)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
                raise ValueError(f"{key} must be a positive integer, got {value!r}")
        if units % heads:
            raise ValueError(f"units must be divisible by heads, got units={units}, heads={heads}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {positions!r}")
        if positions == "learned" and (not isinstance(max_length, int) or max_length <= 0):
            raise ValueError(f"positions='learned' needs max_length, a positive integer, got {max_length!r}")
        self.units, self.heads, self.blocks_count = units, heads, blocks
        self.feedforward = feedforward or 4 * units
        self.dropout, self.positions, self.max_length = float(dropout), positions, max_length
        self.causal, self.return_sequences = causal, return_sequences
        if input_dim is not None:
            self.build((None, None, input_dim))

    def build(self, input_shape: Shape) -> None:
        if len(input_shape) != 3:
            raise ValueError(f"{self.name} expects input of shape (batch, time, features), got {input_shape}")
        self.input_projection = Dense(self.units, input_dim=input_shape[-1], name="input_projection")
        if self.positions == "learned":
            self.position_embedding = nn.Parameter(torch.empty(self.max_length, self.units).uniform_(-0.05, 0.05))
        self.blocks = nn.ModuleList(Block(self.units, self.heads, self.feedforward, self.dropout)
                                    for _ in range(self.blocks_count))
        self.final_norm = nn.LayerNorm(self.units)
        self.built = True

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        batch, steps, _ = input_shape
        return (batch, steps, self.units) if self.return_sequences else (batch, self.units)

    def forward(self, inputs: torch.Tensor, lengths=None) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3 or inputs.shape[1] < 1:
            shape = tuple(inputs.shape) if isinstance(inputs, torch.Tensor) else type(inputs).__name__
            raise ValueError(f"{self.name} expects input of shape (batch, time >= 1, features), got {shape}")
        self.build_for(inputs)
        batch, steps, features = inputs.shape
        if features != self.input_projection.kernel.shape[0]:
            raise ValueError(f"{self.name} was built for {self.input_projection.kernel.shape[0]} input features, "
                             f"got {features}")
        if self.positions == "learned" and steps > self.max_length:
            raise ValueError(f"{self.name} has learned positions for {self.max_length} steps, got {steps}")
        lengths = check_lengths(lengths, batch, steps, inputs.device)
        positions = (self.position_embedding[:steps] if self.positions == "learned"
                     else sinusoidal(steps, self.units, inputs))
        h = F.dropout(self.input_projection(inputs) + positions, self.dropout, self.training)
        mask = self._mask(batch, steps, lengths, inputs.device)
        for block in self.blocks:
            h = block(h, mask)
        h = self.final_norm(h)
        if lengths is not None:
            h = h * (torch.arange(steps, device=h.device) < lengths[:, None])[..., None]  # padded steps output zeros
        if self.return_sequences:
            return h
        last = (lengths - 1) if lengths is not None else torch.full((batch,), steps - 1, device=h.device)
        return h[torch.arange(batch, device=h.device), last]

    def _mask(self, batch: int, steps: int, lengths, device) -> torch.Tensor | None:
        """(B, 1, T, T) booleans, True where a query may attend a key; None when all may."""
        allowed = None
        if lengths is not None:
            allowed = (torch.arange(steps, device=device) < lengths[:, None])[:, None, None, :]  # keys
        if self.causal:
            earlier = torch.ones(steps, steps, dtype=torch.bool, device=device).tril()
            allowed = earlier if allowed is None else allowed & earlier
        return allowed

    def extra_repr(self) -> str:
        flags = [f"{flag}=True" for flag in ("causal", "return_sequences") if getattr(self, flag)]
        return ", ".join([f"name={self.name!r}", f"units={self.units}", f"heads={self.heads}",
                          f"blocks={self.blocks_count}", f"feedforward={self.feedforward}",
                          f"positions={self.positions!r}", *flags])
