"""What statistics need from a finished trial's result.json, read the same way for every task.

result.json names its task: `"task": {"name", "primary", "higher_is_better", "baseline"}` and
`"test": {"loss", <metric>...}`; epochs carry `"metrics": {name: value}`. Runs written before
tasks existed (classification on MNIST only) have `"test": {"loss", "accuracy"}` and an
`"accuracy"` per epoch; they read as the task "accuracy, higher is better, chance 0.1".
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """One trial's numbers."""

    primary: str  # the metric that ranks models on this task, e.g. "accuracy" or "loss"
    higher_is_better: bool
    baseline: dict  # {metric: value} of a trivial predictor (chance, or always predicting the mean)
    test: dict  # {metric: value} on the test set, "loss" included
    params: int
    train_seconds: float  # the epochs' wall time summed (evaluation and data loading left out)
    seconds_per_epoch: float
    curve: list  # the primary metric after each training epoch (on the training batches)

    @property
    def score(self) -> float:
        return self.test[self.primary]


def outcome(result: dict) -> Outcome:
    """The `Outcome` of a result.json (as a dict), whichever version of rnnzoo wrote it."""
    task = result.get("task") or {"primary": "accuracy", "higher_is_better": True, "baseline": {"accuracy": 0.1}}
    primary = task["primary"]
    epochs = result.get("epochs", [])

    def metric(epoch):
        values = {"loss": epoch["loss"], **epoch.get("metrics", {})}
        if "accuracy" in epoch:
            values["accuracy"] = epoch["accuracy"]
        return values.get(primary)

    seconds = [e["seconds"] for e in epochs]
    return Outcome(primary, bool(task["higher_is_better"]), dict(task.get("baseline") or {}), dict(result["test"]),
                   int(result["params"]), float(sum(seconds)), float(result.get("seconds_per_epoch", 0.0)),
                   [metric(e) for e in epochs])
