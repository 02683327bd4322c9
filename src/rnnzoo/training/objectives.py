"""What a model is asked to output, and how it is scored: the loss, the metrics and their direction.

Three kinds cover the zoo's tasks, each fixing the shape of the model's output for a batch of B
sequences of T steps:

    ClassAtLastStep     logits (B, C), labels (B,)        loss = mean_i -log softmax(logits_i)[y_i]
    ValueAtLastStep     values (B, 1), targets (B,)       loss = mean_i (value_i - y_i)^2
    ClassAtEveryStep    logits (B, T, C), labels (B, T)   loss = mean_{i,t} -log softmax(logits_it)[y_it]

The loss is the batch mean that training minimises (Keras' SparseCategoricalCrossentropy or
MeanSquaredError). Every metric is a per-sequence score; `metric_sums` returns its sum over the batch,
so that an epoch's value is a sample-weighted mean exactly like Keras' (see training/metrics.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class ObjectiveError(ValueError):
    """Targets or outputs that don't fit the objective; the message says what was expected."""


class Objective:
    """The base: subclasses set the class attributes and implement the three methods."""

    metrics: tuple[str, ...] = ()  # names of the metrics beside the loss, in log order
    primary: str = "loss"  # the number a study ranks models by
    higher_is_better: bool = False  # for `primary`

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def metric_sums(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}

    def check_targets(self, targets: torch.Tensor, steps: int) -> torch.Tensor:
        """The targets of a whole data set, validated and cast (int64 labels or float values)."""
        raise NotImplementedError

    def check_output_shape(self, shape: tuple[int, ...], steps: int) -> None:
        """Refuse a model whose output for (1, steps, features) has the wrong shape."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"objective": type(self).__name__, "primary": self.primary, "higher_is_better": self.higher_is_better,
                "metrics": ["loss", *self.metrics]}


def _labels(targets: torch.Tensor, shape: tuple[int, ...], what: str) -> torch.Tensor:
    if tuple(targets.shape) != shape or targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise ObjectiveError(f"y: expected {what} of shape {shape}, got {targets.dtype} {tuple(targets.shape)}")
    return targets.long()


class ClassAtLastStep(Objective):
    """One class per sequence, read from the last step: MNIST's digit."""

    metrics = ("accuracy",)
    primary, higher_is_better = "accuracy", True

    def __init__(self, classes: int | None = None):
        self.classes = classes

    def loss(self, outputs, targets):
        return F.cross_entropy(outputs, targets)

    def metric_sums(self, outputs, targets):
        return {"accuracy": (outputs.detach().argmax(dim=-1) == targets).sum()}

    def check_targets(self, targets, steps):
        return _labels(targets, (targets.shape[0],), "integer labels")

    def check_output_shape(self, shape, steps):
        if len(shape) != 2 or (self.classes is not None and shape[1] != self.classes):
            raise ObjectiveError(f"expected one score per class, (batch, {self.classes or 'classes'}), "
                                 f"at the last step; the model gives {shape}")


class ValueAtLastStep(Objective):
    """One number per sequence, read from the last step: the adding problem's sum."""

    def loss(self, outputs, targets):
        return F.mse_loss(outputs.squeeze(-1), targets)

    def check_targets(self, targets, steps):
        if targets.ndim != 1 or not targets.is_floating_point():
            raise ObjectiveError(f"y: expected float targets of shape ({targets.shape[0]},), "
                                 f"got {targets.dtype} {tuple(targets.shape)}")
        return targets

    def check_output_shape(self, shape, steps):
        if tuple(shape[1:]) != (1,):
            raise ObjectiveError(f"expected one number per sequence, (batch, 1); the model gives {shape}")


class ClassAtEveryStep(Objective):
    """A class at every step; accuracy counts only the last `scored_steps` (the copy task's recall)."""

    metrics = ("accuracy",)

    def __init__(self, classes: int, scored_steps: int):
        self.classes, self.scored_steps = classes, scored_steps

    def loss(self, outputs, targets):
        return F.cross_entropy(outputs.flatten(0, 1), targets.flatten())

    def metric_sums(self, outputs, targets):
        scored = slice(-self.scored_steps, None)
        right = outputs.detach()[:, scored].argmax(dim=-1) == targets[:, scored]
        return {"accuracy": right.float().mean(dim=1).sum()}

    def check_targets(self, targets, steps):
        return _labels(targets, (targets.shape[0], steps), "integer labels at every step")

    def check_output_shape(self, shape, steps):
        if tuple(shape[1:]) != (steps, self.classes):
            raise ObjectiveError(f"expected a score per class at every step, (batch, {steps}, {self.classes}) "
                                 f"(return_sequences = true on the last recurrent layer); the model gives {shape}")
