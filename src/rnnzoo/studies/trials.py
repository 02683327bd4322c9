"""A study's trials: every experiment × grid point × seed, each an ordinary run folder.

A trial's folder name comes from what it trains, so it is stable across runs and machines:
`<model>-<task>[-<grid point>]-s<seed>-<hash>`, the hash over the full experiment it trains.
Change anything that matters (epochs, a layer) and the trial is a new one; change nothing and a
re-run finds its finished folder and leaves it alone.
"""

import hashlib
import itertools
import json
from dataclasses import dataclass

from ..config import ConfigError, parse
from .spec import Study, StudyError


@dataclass(frozen=True)
class Trial:
    """One training run of a study."""

    name: str  # the run folder's name under the study's output folder
    model: str
    task: str
    point: tuple[tuple[str, object], ...]  # the grid values of this trial, e.g. (("data.length", 1000),)
    seed: int
    experiment: dict  # a validated experiment, as `Experiment.to_dict` writes it

    @property
    def cell(self) -> tuple[str, str, tuple]:
        """What statistics group by: the seeds of one model on one task at one grid point."""
        return self.model, self.task, self.point


def point_label(point) -> str:
    """`length=1000` for (("data.length", 1000),): the grid point as people read it."""
    return ", ".join(f"{key.rpartition('.')[2]}={value}" for key, value in point)


def _task_of(experiment: dict) -> str:
    """`mnist`, `mnist_pixels`, `adding`: the data set and its view (a gridded length is in the point)."""
    data = experiment["data"]
    view = data.get("view")
    return data["dataset"] if view in (None, "rows") else f"{data['dataset']}_{view}"


def _apply(experiment: dict, overrides) -> dict:
    result = json.loads(json.dumps(experiment))  # a deep copy
    for key, value in overrides:
        section, leaf = key.split(".")
        result[section][leaf] = value
    return result


def _slug(value) -> str:
    return "".join(c if c.isalnum() or c in "._" else "_" for c in str(value))


def expand(study: Study) -> list[Trial]:
    """The trials of `study`, in a stable order (experiments, then grid points, then seeds); each
    experiment runs at every point of the study's grid crossed with its own."""
    trials = []
    for entry in study.experiments:
        grid = (*study.grid, *entry.grid)
        keys = [key for key, _ in grid]
        points = [tuple(zip(keys, values)) for values in itertools.product(*(values for _, values in grid))]
        trials += _trials(study, entry, points)
    names = [t.name for t in trials]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise StudyError(f"{study.source}: experiments: two entries train the same thing ({duplicates[0]}); "
                         "give them different experiments or `model` names")
    return trials


def _trials(study: Study, entry, points) -> list[Trial]:
    trials = []
    for point in points:
        overrides = (*study.overrides, *entry.overrides, *point)
        try:  # validated once per point: the seed changes nothing a check looks at
            validated = parse(_apply(entry.experiment, overrides), f"{study.source}: {entry.model} {point_label(point)}".rstrip())
        except ConfigError as error:
            raise StudyError(str(error)) from None
        for seed in study.seeds:
            experiment = _apply(validated.to_dict(), (("training.seed", seed),))
            task = entry.task or _task_of(experiment)
            digest = hashlib.sha256(json.dumps(experiment, sort_keys=True).encode()).hexdigest()[:8]
            parts = [entry.model, task, *(f"{key.rpartition('.')[2]}{_slug(v)}" for key, v in point), f"s{seed}", digest]
            trials.append(Trial("-".join(parts), entry.model, task, point, seed, experiment))
    return trials
