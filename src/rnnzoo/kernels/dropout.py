"""Dropout with a counter-based mask: as Keras' `Dropout`, at a fraction of torch.bernoulli's cost.

    y = x * keep(i) / (1 - rate)      keep(i) = hash(i, key) >= threshold,  i = element index

The two 32-bit keys are drawn once per call from torch's generator, so `torch.manual_seed` makes
runs repeat exactly, and each call gets a fresh mask. Element i is kept with probability
1 - threshold / 2^24, threshold = round(rate · 2^24): the rate to within 3e-8.

Why: torch's CPU `bernoulli_` draws each element through the generator, a sizeable part of a
training step (docs/performance.md). The hash is a few integer
operations per element and needs no stored mask: dropout is linear in x with a fixed mask, so its
backward pass is the same function of the gradient with the same keys.

The native code (native/dropout.cpp) and the tensor code below compute the same mask bit for bit;
the tensor code runs on other devices and where the native kernels are not built.
"""

import torch

from . import build

BITS = 24  # the mask compares the top 24 bits of a 32-bit hash with the threshold
LOW32 = 0xFFFFFFFF


def dropout(x: torch.Tensor, rate: float) -> torch.Tensor:
    """x with each element zeroed with probability `rate` and the rest scaled by 1 / (1 - rate)."""
    if rate == 0.0:
        return x
    key0, key1 = torch.randint(0, 2**32, (2,), dtype=torch.int64).tolist()  # from torch's default generator
    return CounterDropout.apply(x, key0, key1, round(rate * 2**BITS), 1.0 / (1.0 - rate))


class CounterDropout(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, key0, key1, threshold, scale):
        ctx.mask = (key0, key1, threshold, scale)
        return apply_mask(x, *ctx.mask)

    @staticmethod
    def backward(ctx, grad):
        return apply_mask(grad, *ctx.mask), None, None, None, None


def apply_mask(x: torch.Tensor, key0: int, key1: int, threshold: int, scale: float) -> torch.Tensor:
    module = build.native() if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) else None
    if module is not None:
        return module.dropout(x, key0, key1, threshold, scale)
    return apply_mask_tensor(x, key0, key1, threshold, scale)


def apply_mask_tensor(x: torch.Tensor, key0: int, key1: int, threshold: int, scale: float) -> torch.Tensor:
    """The same mask from tensor operations (int64 holding 32-bit values; products wrap, then & LOW32)."""
    index = torch.arange(x.numel(), device=x.device, dtype=torch.int64)
    high = ((index >> 32) * 0x9E3779B9) & LOW32
    h = mix(mix((index & LOW32) ^ key0) ^ key1 ^ high)
    keep = (h >> (32 - BITS)) >= threshold
    return torch.where(keep.view(x.shape), x.contiguous() * scale, 0.0).to(x.dtype)


def mix(h: torch.Tensor) -> torch.Tensor:
    """Wellons' lowbias32 integer hash on 32-bit values held in int64."""
    h = h ^ (h >> 16)
    h = (h * 0x7FEB352D) & LOW32
    h = h ^ (h >> 15)
    h = (h * 0x846CA68B) & LOW32
    return h ^ (h >> 16)
