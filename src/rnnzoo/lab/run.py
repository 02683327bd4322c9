"""Train one experiment end to end: data, model, Keras' fit and evaluate, and a run folder.

A run folder holds everything needed to look at or re-evaluate the run later:

    experiment.json      the validated experiment (re-readable by `config.parse`)
    weights.safetensors  the trained weights (no pickle: loading runs no code)
    result.json          parameters, the task, per-epoch loss/metrics/seconds, test loss/metrics, environment
"""

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import safetensors.torch
from safetensors.torch import load_file

from .. import __version__
from .. import data as datasets
from ..config import Experiment, parse
from ..files import atomic_write
from ..kernels import build
from ..training import Checkpointer, CheckpointError, EpochLog, History, KerasAdam, NumericalError, checkpoint, evaluate, fit
from ..training.stateful import Windows
from . import environment
from .errors import OutputExistsError


@dataclass
class RunResult:
    experiment: Experiment
    params: int
    history: History
    test: dict[str, float]  # "loss" and the task's metrics, e.g. {"loss": 0.04, "accuracy": 0.988}
    environment: dict
    train_examples: int
    test_examples: int

    @property
    def task(self) -> dict:
        return self.experiment.task().describe()

    @property
    def score(self) -> float:
        """The test value of the task's primary metric (accuracy, or the loss where there is none)."""
        return self.test[self.task["primary"]]

    def headline(self) -> str:
        """'test accuracy 98.80%, test loss 0.0412 (baseline: accuracy 10.00%, loss 2.3026)'."""
        return f"{test_scores(self.test)} (baseline: {test_scores(self.task['baseline'], prefix='')})"

    @property
    def seconds_per_epoch(self) -> float:
        return float(np.median(self.history.seconds)) if self.history.seconds else float("nan")

    @classmethod
    def from_dict(cls, data: dict, source: str = "result.json") -> "RunResult":
        """Read back what `to_dict` wrote (a finished run's result.json)."""
        return cls(parse(data["experiment"], source), data["params"], History([EpochLog(**e) for e in data["epochs"]]),
                   data["test"], data["environment"], data["train_examples"], data["test_examples"])

    def to_dict(self) -> dict:
        return {
            "name": self.experiment.name,
            "params": self.params,
            "epochs": [dataclasses.asdict(e) for e in self.history.epochs],
            "seconds_per_epoch": self.seconds_per_epoch,
            "task": self.task,
            "test": self.test,
            "train_examples": self.train_examples,
            "test_examples": self.test_examples,
            "experiment": self.experiment.to_dict(),
            "environment": self.environment,
        }


def test_scores(scores: dict[str, float], prefix: str = "test ") -> str:
    """The task's scores, accuracy first and as a percentage."""
    ordered = sorted(scores.items(), key=lambda item: item[0] == "loss")
    return ", ".join(f"{prefix}{name} {value:.2%}" if name == "accuracy" else f"{prefix}{name} {value:.4f}"
                     for name, value in ordered)


def printer(console):
    """Where the lab's own lines go: the rich console if one was given, else print."""
    return console.print if hasattr(console, "print") else print


def write_json(path: Path, value) -> None:
    atomic_write(path, (json.dumps(value, indent=2) + "\n").encode())


def make_optimizer(experiment: Experiment, parameters) -> KerasAdam:
    settings = dataclasses.asdict(experiment.optimizer)
    settings.pop("type")
    return KerasAdam(parameters, **settings)


def examples(experiment: Experiment, dataset: datasets.Dataset | None = None, cache_dir=None):
    """The experiment's task and its (train, test) examples, cut to the experiment's limits."""
    task, settings = experiment.task(), experiment.data
    sets = task.examples(experiment.training.seed, settings.train_limit, settings.test_limit,
                         cache_dir=cache_dir, dataset=dataset)
    if settings.window:  # one batch row per lane, so a stateful model's state follows each example
        sets = [Windows(examples, task.steps, settings.window, experiment.training.batch_size) for examples in sets]
    return task, *sets


def train(experiment: Experiment, *, dataset: datasets.Dataset | None = None, run_dir: str | Path | None = None,
          cache_dir=None, device="cpu", console=None, verbose: int = 2, resume: bool = False,
          overwrite: bool = False, checkpoint_every_steps: int | None = None,
          checkpoint_every_minutes: float | None = 5.0, callbacks=()) -> RunResult:
    """Train and evaluate `experiment` as the notebook does.

    With `run_dir`, the run is saved there (see the module docstring) and checkpointed under
    `run_dir/checkpoints` at every epoch end and every few minutes or steps; `resume=True`
    carries on from the newest good checkpoint, bit for bit as if never stopped. `callbacks` (see
    `rnnzoo.training.Callback`) are handed to `fit` after the checkpointer, e.g. a live logger.
    """
    say = printer(console)
    extra, callbacks, restored = list(callbacks), [], None
    if run_dir is not None:
        run_dir = Path(run_dir)
        saver = Checkpointer(run_dir / "checkpoints", every_steps=checkpoint_every_steps,
                             every_minutes=checkpoint_every_minutes,
                             metadata={"experiment": experiment.to_dict(), "rnnzoo": __version__})
        callbacks.append(saver)
        restored = _prepare_run_dir(run_dir, experiment, resume, overwrite, say)
    callbacks += extra
    task, train_set, test_set = examples(experiment, dataset, cache_dir)
    torch.manual_seed(experiment.training.seed)  # the initial weights
    model = experiment.build_model()
    optimizer = make_optimizer(experiment, model.parameters())
    state = None
    if restored is not None:
        path, meta = restored
        state = checkpoint.restore(path, meta, model, optimizer)
        say(f"resuming {experiment.name} from {path} (epoch {state.epoch + 1}, step {state.step})")
    elif verbose:
        model.summary(print_fn=say)
    if torch.device(device).type == "cpu":
        build.native()  # a first run compiles the C++ kernels here, not inside the first epoch's time
    try:
        history = fit(model, train_set, objective=task.objective, optimizer=optimizer, batch_size=experiment.training.batch_size,
                      epochs=experiment.training.epochs, seed=experiment.training.seed, device=device,
                      verbose=verbose, console=console, callbacks=callbacks, resume=state)
    except NumericalError as error:
        if callbacks and callbacks[0].last_path is not None:
            error.args = (f"{error}. The last good checkpoint is {callbacks[0].last_path}",)
        raise
    test = evaluate(model, test_set, objective=task.objective, batch_size=experiment.training.batch_size,
                    device=device, verbose=verbose, console=console)
    result = RunResult(experiment, model.count_params(), history, test, environment.describe(), len(train_set),
                       len(test_set))
    if run_dir is not None:
        save_run(run_dir, model, result)
    return result


def _prepare_run_dir(run_dir: Path, experiment: Experiment, resume: bool, overwrite: bool, say):
    """Check the run folder against what was asked; return the checkpoint to resume from, if any."""
    if resume:
        found = checkpoint.latest(run_dir / "checkpoints", log=say)
        if found is None:
            raise CheckpointError(f"{run_dir}: no checkpoint to resume from")
        saved = found[1]["metadata"]
        if saved.get("rnnzoo") != __version__:
            raise CheckpointError(f"{found[0]} was written by rnnzoo {saved.get('rnnzoo')}, this is {__version__}")
        differences = _differences(saved.get("experiment", {}), experiment.to_dict())
        if differences:
            raise CheckpointError(f"{found[0]} belongs to another experiment: {'; '.join(differences)}")
        return found
    if overwrite:
        for name in ("checkpoints", "result.json"):
            target = run_dir / name
            shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
    elif (run_dir / "result.json").exists() or checkpoint.checkpoints(run_dir / "checkpoints"):
        raise OutputExistsError(f"{run_dir} already holds a run; continue it with `rnnzoo resume {run_dir}`, "
                                "or pass --overwrite to start again")
    write_json(run_dir / "experiment.json", experiment.to_dict())  # first, so `rnnzoo resume` knows the run
    return None


def _differences(saved, current, prefix="") -> list[str]:
    """'training.epochs: 10 in the checkpoint, 3 now' for every leaf that differs."""
    if isinstance(saved, dict) and isinstance(current, dict):
        return [d for key in sorted(set(saved) | set(current), key=str)
                for d in _differences(saved.get(key), current.get(key), f"{prefix}{key}.")]
    if saved != current:
        return [f"{prefix.rstrip('.')}: {saved!r} in the checkpoint, {current!r} now"]
    return []


def save_run(run_dir: Path, model: torch.nn.Module, result: RunResult) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "experiment.json", result.experiment.to_dict())
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write(run_dir / "weights.safetensors", safetensors.torch.save(weights))
    write_json(run_dir / "result.json", result.to_dict())


def load_run(run_dir: str | Path) -> tuple[Experiment, torch.nn.Module]:
    """The experiment and trained model of a run folder (weights via safetensors: no code runs)."""
    run_dir = Path(run_dir)
    for name in ("experiment.json", "weights.safetensors"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir} is not a run folder: {name} is missing")
    try:
        experiment = parse(json.loads((run_dir / "experiment.json").read_text()), str(run_dir / "experiment.json"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{run_dir / 'experiment.json'}: not valid JSON: {error}") from None
    model = experiment.build_model()
    state = load_file(run_dir / "weights.safetensors")
    missing = set(model.state_dict()) ^ set(state)
    if missing:
        raise ValueError(f"{run_dir / 'weights.safetensors'} does not match its experiment: differing keys {sorted(missing)}")
    model.load_state_dict(state)
    return experiment, model
