"""`run_study`: run a study's unfinished trials, locally or on Ray, then analyse and report.

The output folder holds one run folder per trial plus the study's own files:

    study.json           what was run (the study, --quick or not) — written first
    <trial>/             an ordinary run folder (`rnnzoo evaluate` / `rnnzoo resume` work on it)
    profile.json         time and activation memory of a training step against T and batch
    gradients.json       ‖∂L/∂h_t‖ against t, per model, from trained weights
    results.json         every number the report shows, the verdicts included
    report.md, report.html
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..lab.errors import OutputExistsError
from ..lab.run import printer, write_json
from .outcomes import outcome
from .spec import Study, load_study
from .trials import Trial, expand, point_label
from .worker import is_finished


class StudyFailed(RuntimeError):
    """Some trials failed; the others' results and the report are written all the same."""


@dataclass
class StudyRun:
    study: Study
    out: Path
    trials: list[Trial]
    results: dict  # what results.json holds
    failures: dict  # {trial name: one-line error}


def default_out(study: Study, quick: bool) -> Path:
    return Path("studies") / (f"{study.name}-quick" if quick else study.name)


def run_study(study: Study | str | Path, *, quick: bool = False, out: str | Path | None = None,
              workers: int | None = None, threads: int | None = None, address: str | None = None,
              resume: bool = False, tensorboard: bool = False, cache_dir=None, datasets: dict | None = None,
              retries: int = 2, report: bool = True, console=None) -> StudyRun:
    """Run `study` (a `Study`, a shipped study's name or a TOML path) and write its report.

    Trials whose result.json exists are never run again; interrupted ones resume from their
    checkpoints. `datasets` ({name: rnnzoo.data.Dataset}) replaces `rnnzoo.data.load` in the
    trials (tests hand in a small subset). Raises `StudyFailed` after the report if trials failed.
    """
    from .local import layout, run_local

    say = printer(console)
    study = study if isinstance(study, Study) else load_study(study)
    if quick:
        study = study.quick_variant()
    out = Path(out) if out is not None else default_out(study, quick)
    trials = expand(study)
    record = out / "study.json"
    if record.exists() and not resume:
        raise OutputExistsError(f"{out} already holds a study; continue it with --resume, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_json(record, {"name": study.name, "source": study.source, "quick": quick, "trials": [t.name for t in trials]})
    todo = [t for t in trials if not is_finished(out / t.name)]
    workers, threads = layout(max(1, len(todo)), workers, threads)
    where = f"Ray at {address}" if address else f"{workers} worker(s) × {threads} thread(s)"
    say(f"study {study.name}{' (quick)' if quick else ''}: {len(trials)} trials, {len(trials) - len(todo)} "
        f"already finished, {len(todo)} to run on {where}; output in {out}/")
    done = [len(trials) - len(todo)]
    started = time.perf_counter()

    def on_done(trial, error):
        done[0] += 1
        if error:
            say(f"[{done[0]}/{len(trials)}] {trial.name}: FAILED: {error}")
        else:
            o = outcome(json.loads((out / trial.name / "result.json").read_text()))
            say(f"[{done[0]}/{len(trials)}] {' '.join(filter(None, (trial.model, trial.task, point_label(trial.point))))} seed {trial.seed}: "
                f"{o.primary} {o.score:.4f} ({o.train_seconds:.0f} s)")

    options = {"cache_dir": cache_dir, "datasets": datasets, "tensorboard": tensorboard}
    if address:
        from .cluster import run_ray

        failures = run_ray(todo, out, address=address, threads=threads, retries=retries, on_done=on_done, **options)
    else:
        failures = run_local(todo, out, workers=workers, threads=threads, retries=retries, on_done=on_done, **options)
    say(f"trials done in {time.perf_counter() - started:.0f} s")
    results = {}
    if report:
        from .report import build_results, write_report

        results = build_results(study, trials, out, quick=quick, threads=threads, cache_dir=cache_dir,
                                datasets=datasets, say=say)
        write_report(results, out)
        say(f"report: {out / 'report.html'}, {out / 'report.md'}, {out / 'results.json'}")
        for claim in results.get("claims", []):
            say(f"  {claim['name']}: {claim['verdict']} — {claim['text']}")
    run = StudyRun(study, out, trials, results, failures)
    if failures:
        raise StudyFailed(f"{len(failures)} of {len(trials)} trials failed (first: {next(iter(failures))}: "
                          f"{next(iter(failures.values()))}); run again with --resume to retry them")
    return run
