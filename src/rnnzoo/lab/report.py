"""The reproduction report: a Markdown table beside the notebook's figures, and two plots."""

import math
from pathlib import Path

from .notebook import NOTEBOOK


def markdown_table(results: dict) -> str:
    """results: {preset name: RunResult}."""
    env = next(iter(results.values())).environment
    lines = [
        "| model | params | test acc | notebook acc | s/epoch | notebook s/epoch | test loss |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for preset, result in results.items():
        paper = NOTEBOOK.get(preset, {})
        acc = f"{paper['test_accuracy']:.2%}" if paper else "—"
        sec = f"{paper['seconds_per_epoch']}" if paper else "—"
        lines.append(f"| {result.experiment.name} ({preset}) | {result.params:,} | {result.test['accuracy']:.2%} | {acc} "
                     f"| {result.seconds_per_epoch:.0f} | {sec} | {result.test['loss']:.4f} |")
    first = next(iter(results.values()))
    lines += [
        "",
        f"{first.train_examples:,} training and {first.test_examples:,} test examples, "
        f"{len(first.history)} epochs, batch {first.experiment.training.batch_size}, seed {first.experiment.training.seed}.",
        f"Machine: {env['cpu']} ({env['cpu_count']} CPUs, {env['torch_threads']} torch threads); "
        f"torch {env['torch']}, Python {env['python']}, rnnzoo {env['rnnzoo']}; {env['date']}.",
        "Notebook figures: Keras on TensorFlow, as printed in the seed notebook (its machine is not stated).",
    ]
    return "\n".join(lines) + "\n"


def _figure(**options):
    """A matplotlib Figure of its own, drawn to files only: no pyplot, so no display is needed, a
    notebook's backend is left alone, and `import rnnzoo` doesn't wait for matplotlib."""
    from matplotlib.figure import Figure

    return Figure(**options)


def learning_curves(results: dict, path: Path) -> None:
    from matplotlib.ticker import MaxNLocator

    fig = _figure(figsize=(10, 4))
    loss_ax, acc_ax = fig.subplots(1, 2)
    for preset, result in results.items():
        epochs = [e.epoch + 1 for e in result.history.epochs]
        loss_ax.plot(epochs, result.history.loss, marker="o", label=result.experiment.name)
        acc_ax.plot(epochs, result.history.metric("accuracy"), marker="o", label=f"{result.experiment.name} (train)")
        acc_ax.axhline(result.test["accuracy"], linestyle="--", color=acc_ax.lines[-1].get_color(), linewidth=1,
                       label=f"{result.experiment.name} (test)")
    loss_ax.set(title="Training loss", xlabel="epoch", ylabel="sparse categorical cross-entropy")
    acc_ax.set(title="Accuracy", xlabel="epoch", ylabel="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no tick at 1.2
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def tradeoffs(results: dict, path: Path) -> None:
    """Test accuracy against parameters and against seconds per epoch, notebook points beside ours."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = _figure(figsize=(10, 4))
    axes = fig.subplots(1, 2)
    for ax, key, label in ((axes[0], "params", "parameters"), (axes[1], "seconds_per_epoch", "seconds per epoch")):
        for preset, result in results.items():
            ours = result.params if key == "params" else result.seconds_per_epoch
            point = ax.scatter(ours, 100 * result.test["accuracy"], s=60, label=f"{result.experiment.name} (rnnzoo)")
            paper = NOTEBOOK.get(preset)
            if paper:
                ax.scatter(paper[key], 100 * paper["test_accuracy"], s=60, marker="x", color=point.get_facecolor(),
                           label=f"{result.experiment.name} (notebook)")
        ax.set(xlabel=label, ylabel="test accuracy (%)", title=f"Test accuracy vs {label}")
        if key == "params":  # "200k", not "200000" run into its neighbours
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value / 1000:,.0f}k"))
        if key == "seconds_per_epoch" and all(r.seconds_per_epoch > 0 and not math.isnan(r.seconds_per_epoch) for r in results.values()):
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
