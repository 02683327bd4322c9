"""minGRU and minLSTM: rnnzoo's layers against the reference implementation, mingru-pytorch 0.2.1.

    from rnnzoo.bench.minimal import run_minimal
    rows = run_minimal()                             # what `rnnzoo bench --minimal` calls

Same sizes on both sides (Feng et al.'s setting: the layer maps `units` features to `units`
features, no bias, as mingru-pytorch's `minGRU(dim)` / `minLSTM(dim)` do), the last step read by a
Linear(units, 10) and cross-entropy. A training step is forward, loss, backward and torch's Adam;
inference is a forward in eval mode under no_grad. mingru-pytorch always runs its log-space parallel
scan (Heinsen 2023) for sequences longer than one step; rnnzoo runs its sequential linear scan
(kernels.linear_scan) on the CPU. Besides the ratio, each row gives rnnzoo's inference against its
own training forward (grad enabled, no backward): stepping in inference must not be the slower path.
Medians over interleaved rounds, each contender's first call of a round untimed; nothing is
asserted here.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from .benchmark import adam

REFERENCE = "mingru-pytorch"


@dataclass
class Row:
    cell: str
    batch: int
    steps: int
    units: int
    train_ms: dict = field(default_factory=dict)  # contender -> median ms per training step
    infer_ms: dict = field(default_factory=dict)
    forward_ms: float = 0.0  # rnnzoo's training forward alone


class Head(nn.Module):
    """A sequence layer, its last step, Linear(units, 10)."""

    def __init__(self, layer: nn.Module, units: int):
        super().__init__()
        self.layer, self.out = layer, nn.Linear(units, 10)

    def forward(self, x):
        h = self.layer(x)
        return self.out(h[:, -1] if h.dim() == 3 else h)


def contenders(cell: str, units: int) -> dict[str, nn.Module]:
    import rnnzoo

    ours = {"MinGRU": rnnzoo.MinGRU, "MinLSTM": rnnzoo.MinLSTM}[cell](units, use_bias=False, return_sequences=True)
    ours.build((None, None, units))
    models = {"rnnzoo": Head(ours, units)}
    try:
        from minGRU_pytorch.minGRU import minGRU
        from minGRU_pytorch.minLSTM import minLSTM
    except ImportError:
        return models
    models[REFERENCE] = Head({"MinGRU": minGRU, "MinLSTM": minLSTM}[cell](units), units)
    return models


def _times(function, n: int) -> list[float]:
    """n calls' times, after one untimed call: a round's first call meets the caches the other
    contenders left (and rnnzoo's inference after training packs the changed weights again)."""
    function()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def bench_cell(cell: str, batch: int = 64, steps: int = 784, units: int = 256, rounds: int = 5,
               per_round: int = 3) -> Row:
    torch.manual_seed(0)
    models = contenders(cell, units)
    x = torch.rand(batch, steps, units)
    y = torch.randint(0, 10, (batch,))
    optimizers = {name: adam(model.parameters()) for name, model in models.items()}

    def train(name):
        model, optimizer = models[name].train(), optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    def infer(name):
        with torch.no_grad():
            models[name].eval()(x)

    def forward():
        models["rnnzoo"].train()(x)

    for name in models:  # warm-up: kernels load, pages fault in
        train(name), infer(name)
    row = Row(cell, batch, steps, units)
    train_t, infer_t, forward_t = {n: [] for n in models}, {n: [] for n in models}, []
    for r in range(rounds):
        names = list(models)[r % len(models):] + list(models)[: r % len(models)]
        for name in names:
            train_t[name] += _times(lambda: train(name), per_round)
            infer_t[name] += _times(lambda: infer(name), per_round)
        forward_t += _times(forward, per_round)
    row.train_ms = {n: statistics.median(t) * 1e3 for n, t in train_t.items()}
    row.infer_ms = {n: statistics.median(t) * 1e3 for n, t in infer_t.items()}
    row.forward_ms = statistics.median(forward_t) * 1e3
    return row


def format_row(row: Row) -> str:
    ours = row.train_ms["rnnzoo"]
    lines = [f"{row.cell}({row.units}), batch {row.batch}, T {row.steps}, {row.units} features, no bias",
             f"  {'':16} {'train ms':>9} {'rnnzoo x':>9} {'infer ms':>9} {'rnnzoo x':>9}"]
    for name in row.train_ms:
        lines.append(f"  {name:16} {row.train_ms[name]:9.1f} {row.train_ms[name] / ours:8.2f}x "
                     f"{row.infer_ms[name]:9.1f} {row.infer_ms[name] / row.infer_ms['rnnzoo']:8.2f}x")
    lines.append(f"  rnnzoo's inference {row.infer_ms['rnnzoo']:.1f} ms against its training forward "
                 f"{row.forward_ms:.1f} ms: {row.forward_ms / row.infer_ms['rnnzoo']:.2f}x")
    return "\n".join(lines)


def run_minimal(batch: int = 64, steps: int = 784, units: int = 256, rounds: int = 5, print_fn=print) -> list[Row]:
    try:
        import minGRU_pytorch  # noqa: F401
    except ImportError:
        print_fn(f"{REFERENCE} is not installed (pip install mingru-pytorch==0.2.1): timing rnnzoo alone")
    print_fn(f"torch {torch.__version__}, {torch.get_num_threads()} threads; 'rnnzoo x': the contender's time "
             "over rnnzoo's (how many times faster rnnzoo is)")
    rows = []
    for cell in ("MinGRU", "MinLSTM"):
        rows.append(bench_cell(cell, batch, steps, units, rounds))
        print_fn(format_row(rows[-1]))
    return rows
