"""Tasks: what a model reads and must answer, selected by `[data]` in an experiment.

    dataset = "mnist" | "fashion_mnist", view = "rows" | "pixels" | "permuted_pixels"   (images.py)
    dataset = "adding", length = T                                                     (adding.py)
    dataset = "copy", length = T                                                       (copy.py)

`task(dataset, view=, length=)` checks the settings and returns the Task, cheaply (no data is read);
`Task.examples(seed, train_limit, test_limit)` then gives its train and test examples.
"""

from __future__ import annotations

from .adding import Adding
from .copy import Copy
from .images import VIEWS, Images
from .task import Generated, Task, TaskError

TASKS = ("mnist", "fashion_mnist", "adding", "copy")


def task(dataset: str, *, view: str | None = None, length: int | None = None) -> Task:
    """The task that `[data]` names, or a TaskError naming the key at fault."""
    if dataset not in TASKS:
        raise TaskError(f"data.dataset: unknown data set {dataset!r}; expected one of {', '.join(TASKS)}")
    if dataset in ("mnist", "fashion_mnist"):
        if length is not None:
            raise TaskError(f"data.length: {dataset} has a fixed length (set by view); remove length")
        return Images(dataset, view)
    if view is not None:
        raise TaskError(f"data.view: only mnist and fashion_mnist have views; remove view for {dataset}")
    return Adding(length) if dataset == "adding" else Copy(length)


__all__ = ["TASKS", "VIEWS", "Adding", "Copy", "Generated", "Images", "Task", "TaskError", "task"]
