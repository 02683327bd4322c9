"""The report's figures, each drawn from results.json's numbers and returned as PNG bytes."""

import io
from collections import defaultdict

# Figures of their own, not pyplot's: no display needed (a headless CI machine draws the same),
# and a notebook that builds a report keeps its own backend.
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def _panels(count: int, width: float = 4.2, height: float = 3.2):
    columns = min(count, 3)
    rows = -(-count // columns)
    figure = Figure(figsize=(width * columns, height * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for extra in axes.flat[count:]:
        extra.set_visible(False)
    return figure, list(axes.flat)


def pareto(points, higher_is_better: bool) -> list[tuple[float, float]]:
    """The (cost, score) points no other point beats on both: cheaper and at least as good."""
    front, best = [], None
    for cost, score in sorted(points, key=lambda p: (p[0], -p[1] if higher_is_better else p[1])):
        if best is None or (score > best if higher_is_better else score < best):
            front.append((cost, score))
            best = score
    return front


def _groups(rows, key=lambda r: f"{r['task']} {r['where']}".strip()):
    groups = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return groups


def tradeoffs(cells: list[dict], cost: str, label: str) -> bytes:
    """The primary metric against `cost` ("params" or "train_seconds") per task, CI bars, Pareto front."""
    groups = _groups(cells)
    figure, axes = _panels(len(groups))
    for axis, (title, rows) in zip(axes, groups.items()):
        for row in rows:
            low, high = row["ci"] if row["ci"][0] is not None else (row["mean"], row["mean"])
            axis.errorbar(row[cost], row["mean"], yerr=[[row["mean"] - low], [high - row["mean"]]], fmt="o", capsize=3,
                          label=row["model"])
        front = pareto([(r[cost], r["mean"]) for r in rows], rows[0]["higher_is_better"])
        axis.step(*zip(*front), where="post", color="grey", linestyle="--", linewidth=1, label="Pareto front")
        costs = [r[cost] for r in rows if r[cost] > 0]
        wide = costs and max(costs) > 10 * min(costs)  # a log axis only where it spreads the points
        axis.set(xscale="log" if wide else "linear", xlabel=label, ylabel=rows[0]["metric"], title=title)
        axis.legend(fontsize=7)
    return _png(figure)


def learning_curves(curves: dict) -> bytes:
    groups = _groups(curves.values())
    figure, axes = _panels(len(groups))
    for axis, (title, rows) in zip(axes, groups.items()):
        for row in rows:
            epochs = range(1, len(row["mean"]) + 1)
            line, = axis.plot(epochs, row["mean"], marker=".", label=row["model"])
            axis.fill_between(epochs, row["low"], row["high"], color=line.get_color(), alpha=0.2)
        axis.set(xlabel="epoch", ylabel=f"training {rows[0]['metric']}", title=title)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.legend(fontsize=7)
    return _png(figure)


def gradient_norms(gradients: list[dict]) -> bytes:
    groups = _groups(gradients)
    figure, axes = _panels(len(groups))
    for axis, (title, rows) in zip(axes, groups.items()):
        for row in rows:
            axis.plot(range(1, len(row["norms"]) + 1), row["norms"], label=f"{row['model']} ({row['what']})")
        axis.set(yscale="log", xlabel="time step t", ylabel="‖∂L/∂h_t‖ (batch mean)", title=title)
        axis.legend(fontsize=7)
    return _png(figure)


def step_costs(profile: list[dict]) -> bytes:
    """Time and activation memory of a training step against T, one line per model and batch."""
    figure = Figure(figsize=(10, 3.6))
    time_axis, memory_axis = figure.subplots(1, 2)
    lines = _groups([p for p in profile if "seconds" in p], key=lambda p: (p["model"], p["batch"]))
    for (model, batch), rows in lines.items():
        rows = sorted(rows, key=lambda r: r["length"])
        lengths = [r["length"] for r in rows]
        time_axis.plot(lengths, [r["seconds"] for r in rows], marker="o", label=f"{model}, batch {batch}")
        memory_axis.plot(lengths, [r["activation_mib"] for r in rows], marker="o", label=f"{model}, batch {batch}")
    time_axis.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="seconds per training step")
    memory_axis.set(xscale="log", yscale="log", xlabel="sequence length T", ylabel="activation memory (MiB)")
    time_axis.legend(fontsize=7)
    return _png(figure)
