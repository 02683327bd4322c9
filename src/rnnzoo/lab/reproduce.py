"""`rnnzoo reproduce`: the notebook's three models, trained and compared in one call.

    results = rnnzoo.reproduce("results/today")            # 10 epochs on all 60,000 (the notebook)
    results = rnnzoo.reproduce("results/try", quick=True)  # the same on a subset, about a minute

Writes into the output folder: one run folder per model (see `run.py`), `results.json` (all runs),
`results.md` (the table beside the notebook's numbers), `learning_curves.png`, `tradeoffs.png`.
"""

import dataclasses
import json
from pathlib import Path

from .. import data as datasets
from ..presets import NOTEBOOK_MODELS, load_preset
from . import report
from .errors import OutputExistsError
from ..files import atomic_write
from .run import RunResult, printer, train, write_json

# --quick: the same models and settings on a slice of the data, sized to take about a minute here.
QUICK = {"train_limit": 3200, "test_limit": 1000, "epochs": 2}


def check_output(out_dir: Path, overwrite: bool) -> None:
    """Refuse an output folder that already holds results, unless overwriting."""
    if (out_dir / "results.json").exists() and not overwrite:
        raise OutputExistsError(f"{out_dir} already holds results (results.json); choose another folder or pass --overwrite")


def reproduce(out_dir: str | Path, *, quick: bool = False, models=NOTEBOOK_MODELS, overwrite: bool = False,
              resume: bool = False, cache_dir=None, device="cpu", console=None, verbose: int = 2) -> dict[str, RunResult]:
    """Train each model into `out_dir/<preset>/`, then write the report.

    `resume=True` continues an interrupted reproduction: finished models are read back, not
    retrained, and a model stopped mid-way resumes from its newest checkpoint.
    """
    out_dir = Path(out_dir)
    if not resume:
        check_output(out_dir, overwrite)
    models = tuple(models)
    for preset in models:
        load_preset(preset)  # an unknown name fails now, not after an hour of training
    write_json(out_dir / "reproduce.json", {"quick": quick, "models": list(models)})  # what `rnnzoo resume` reruns
    say = printer(console)
    results: dict[str, RunResult] = {}
    loaded: dict[str, datasets.Dataset] = {}
    for preset in models:
        run_dir = out_dir / preset
        if resume and (run_dir / "result.json").exists():
            results[preset] = RunResult.from_dict(json.loads((run_dir / "result.json").read_text()), str(run_dir))
            say(f"\n== {preset}: finished earlier, {results[preset].headline()}")
            continue
        experiment = load_preset(preset)
        if quick:
            experiment = dataclasses.replace(
                experiment,
                data=dataclasses.replace(experiment.data, train_limit=QUICK["train_limit"], test_limit=QUICK["test_limit"]),
                training=dataclasses.replace(experiment.training, epochs=QUICK["epochs"]),
            )
        name = experiment.data.dataset
        if name not in loaded:
            loaded[name] = datasets.load(name, cache_dir=cache_dir)
        if verbose:
            say(f"\n== {preset}: {experiment.notes}")
        resumable = resume and (run_dir / "checkpoints").is_dir()
        results[preset] = train(experiment, dataset=loaded[name], run_dir=run_dir, device=device, console=console,
                                verbose=verbose, resume=resumable, overwrite=overwrite)
    write_report(out_dir, results)
    return results


def write_report(out_dir: Path, results: dict[str, RunResult]) -> None:
    write_json(out_dir / "results.json", {preset: r.to_dict() for preset, r in results.items()})
    atomic_write(out_dir / "results.md", report.markdown_table(results).encode())
    report.learning_curves(results, out_dir / "learning_curves.png")
    report.tradeoffs(results, out_dir / "tradeoffs.png")
