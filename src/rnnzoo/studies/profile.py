"""Cost of one training step against sequence length T and batch size, per model of a study.

Time is the median wall time of a forward and backward pass on random inputs, after one warm-up
step. Memory is what autograd keeps for the backward pass (every tensor saved for it, counted
once by its storage): the activation memory that grows with T and batch and decides whether a
long sequence fits, measured exactly and the same on every machine, unlike a process's RSS.
"""

import statistics
import time

import torch

from ..config import parse


def activation_bytes(step) -> int:
    """Bytes of the distinct storages autograd saves while `step()` builds its graph."""
    seen = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        seen[(storage.data_ptr(), storage.device)] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = step()
    loss.backward()
    return sum(seen.values())


def profile_model(experiment: dict, lengths, batches, steps: int = 3, seed: int = 0) -> list[dict]:
    """Rows {length, batch, seconds, activation_mib} for one experiment's model (weights random)."""
    torch.manual_seed(seed)
    model = parse(experiment, "profile").build_model()
    features = experiment["model"]["input"][-1]
    rows = []
    for batch in batches:
        for length in lengths:
            x = torch.rand(batch, length, features)

            def step():
                return model(x).float().pow(2).mean()

            model.zero_grad()
            try:
                memory = activation_bytes(step)  # also the warm-up
                times = []
                for _ in range(steps):
                    model.zero_grad()
                    start = time.perf_counter()
                    step().backward()
                    times.append(time.perf_counter() - start)
            except (RuntimeError, ValueError) as error:  # e.g. a model with a fixed input length
                rows.append({"length": length, "batch": batch, "error": str(error).splitlines()[0]})
                continue
            rows.append({"length": length, "batch": batch, "seconds": statistics.median(times),
                         "activation_mib": memory / 2**20})
    return rows
