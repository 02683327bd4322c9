"""Masked and stateful batches against unmasked ones, on the fused path.

    from rnnzoo.bench.masks import run_masks_bench
    rows = run_masks_bench()                         # what `rnnzoo bench --masks` calls

For one layer of each kind (SimpleRNN, LSTM, GRU; batch 64, T = 100, 28 features, 128 units, as a
`Sequential` with a Dense(10) head) this times a training step (forward, cross-entropy, backward,
Adam) and an inference batch for each way of feeding the batch:

  unmasked     the plain batch
  end-padded   a mask whose last quarter of steps is masked (what `lengths` also expresses)
  holes        a mask with a quarter of the steps masked at random, anywhere
  left-padded  a mask whose first quarter is masked
  stateful     stateful=True: the state carried from the previous batch
  holes, ref   the holes mask on the reference loop (backend="reference"), for scale

Every variant but the last runs on the fused kernels: a masked batch is packed (each sequence's
valid steps to the front), run as an end-padded one and spread back (layers/masking.py), so it
reads three quarters of the steps. Variants are timed in interleaved rounds (the order rotates),
medians over every step but each variant's first of a round; the ratio is against the unmasked
batch.
"""

import json
import statistics

import torch

from . import machine
from .benchmark import TorchContender

B, T, F, U = 64, 100, 28, 128
VARIANTS = ("unmasked", "end-padded", "holes", "left-padded", "stateful", "holes, ref")


def masks(batch: int, steps: int, generator: torch.Generator) -> dict:
    quarter = steps // 4
    position = torch.arange(steps)[None, :].expand(batch, -1)
    return {"unmasked": None, "end-padded": position < steps - quarter, "left-padded": position >= quarter,
            "holes": torch.rand(batch, steps, generator=generator) >= 0.25, "stateful": None,
            "holes, ref": torch.rand(batch, steps, generator=generator) >= 0.25}


class Variant(TorchContender):
    """One mask variant; TorchContender's timed train and infer loops, the mask passed in."""

    def __init__(self, kind: str, name: str, mask):
        import rnnzoo

        torch.manual_seed(0)
        backend = "reference" if name.endswith("ref") else "fused"
        layer = getattr(rnnzoo, kind)(U, stateful=name == "stateful", backend=backend)
        self.model = rnnzoo.Sequential([rnnzoo.Input((None, F)), layer, rnnzoo.Dense(10)])
        generator = torch.Generator().manual_seed(1)
        self.x = torch.rand(B, T, F, generator=generator)
        self.y = torch.randint(0, 10, (B,), generator=generator)
        self.mask = mask
        self.optimizer = torch.optim.Adam(self.model.parameters())
        plan = layer.plan(self.x, mask=mask)  # in training mode, with gradients: what a training step runs
        self.route = "reference" if plan.route is None else f"{plan.route}/{plan.engine}"

    def forward(self) -> torch.Tensor:
        return self.model(self.x, mask=self.mask)


def bench_kind(kind: str, rounds: int, per_round: int) -> list[dict]:
    variants = {name: Variant(kind, name, mask) for name, mask in masks(B, T, torch.Generator().manual_seed(2)).items()}
    for variant in variants.values():  # warm-up: kernels built, pages faulted in
        variant.train(1)
        variant.infer(1)
    train = {name: [] for name in variants}
    infer = {name: [] for name in variants}
    order = list(variants)
    for r in range(rounds):
        for name in order[r % len(order):] + order[: r % len(order)]:
            # each variant's first step of a round untimed, as in `rnnzoo bench`: it meets the caches
            # the other variants left
            train[name] += variants[name].train(per_round + 1)[1:]
            infer[name] += variants[name].infer(per_round + 1)[1:]
    base_train, base_infer = statistics.median(train["unmasked"]), statistics.median(infer["unmasked"])
    return [{"layer": kind, "variant": name, "route": variants[name].route,
             "train_ms": 1e3 * statistics.median(train[name]), "infer_ms": 1e3 * statistics.median(infer[name]),
             "train_ratio": statistics.median(train[name]) / base_train,
             "infer_ratio": statistics.median(infer[name]) / base_infer} for name in variants]


def run_masks_bench(json_path=None, rounds: int = 3, per_round: int = 5, kinds=("SimpleRNN", "LSTM", "GRU"),
                    print_fn=print) -> list[dict]:
    where = machine.describe()
    print_fn(machine.summary(where))
    print_fn(f"masked and stateful batches on the fused path: batch {B}, T {T}, {F} features, {U} units "
             f"(medians of {rounds * per_round} steps; ratio to unmasked)")
    print_fn(f"{'layer':<10}{'variant':<13}{'train ms':>10}{'ratio':>7}{'infer ms':>10}{'ratio':>7}  route")
    rows = []
    for kind in kinds:
        for row in bench_kind(kind, rounds, per_round):
            rows.append(row)
            print_fn(f"{kind:<10}{row['variant']:<13}{row['train_ms']:>10.2f}{row['train_ratio']:>7.2f}"
                     f"{row['infer_ms']:>10.2f}{row['infer_ratio']:>7.2f}  {row['route']}")
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"machine": where, "torch": torch.__version__, "threads": torch.get_num_threads(),
                       "batch": B, "steps": T, "features": F, "units": U, "rows": rows}, f, indent=1)
    return rows
