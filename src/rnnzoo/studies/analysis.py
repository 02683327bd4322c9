"""From finished trials to the numbers a report shows: per-cell summaries, pairwise tests, IQMs.

A cell is one model on one task at one grid point, over its seeds. Differences are oriented so
that positive means "a is better" whatever the metric's direction (accuracy up, MSE down).
"""

import itertools
from collections import defaultdict

import numpy as np

from . import statistics as st
from .outcomes import Outcome
from .trials import Trial, point_label

IQM_MIN_RUNS = 4  # a trimmed mean of fewer runs trims nothing and would only pretend to be robust


def _nan_to_none(value):
    return None if isinstance(value, float) and not np.isfinite(value) else value


def clean(value):
    """JSON-ready: tuples as lists, numpy scalars as floats, nan and inf as null."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    return _nan_to_none(value)


def cells(trials: list[Trial], outcomes: dict[str, Outcome]) -> dict[tuple, list[tuple[Trial, Outcome]]]:
    grouped = defaultdict(list)
    for trial in trials:
        if trial.name in outcomes:
            grouped[trial.cell].append((trial, outcomes[trial.name]))
    return dict(grouped)


def oriented(values, higher_is_better: bool) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values if higher_is_better else -values


def normalised(outcome: Outcome, value: float) -> float | None:
    """0 at the task's baseline (chance, or predicting the mean), 1 at a perfect score."""
    base = outcome.baseline.get(outcome.primary)
    if base is None:
        return None
    best = 1.0 if outcome.higher_is_better else 0.0
    return (value - base) / (best - base) if best != base else None


def cell_summary(cell, runs) -> dict:
    model, task, point = cell
    scores = [o.score for _, o in runs]
    summary = st.summarize(scores)
    first = runs[0][1]
    row = {"model": model, "task": task, "point": [list(p) for p in point], "where": point_label(point),
           "metric": first.primary, "higher_is_better": first.higher_is_better, "n": summary.n,
           "mean": summary.mean, "std": summary.std, "ci": summary.ci, "seeds": [t.seed for t, _ in runs],
           "values": scores, "params": first.params, "train_seconds": float(np.mean([o.train_seconds for _, o in runs])),
           "seconds_per_epoch": float(np.mean([o.seconds_per_epoch for _, o in runs])),
           "baseline": first.baseline.get(first.primary), "trials": [t.name for t, _ in runs]}
    if summary.n >= IQM_MIN_RUNS:
        row["iqm"] = float(st.iqm(scores))
        row["iqm_ci"] = st.bootstrap_ci(scores, statistic=st.iqm)
    return row


def compare(a_row: dict, b_row: dict) -> dict:
    """a against b on one task and grid point: oriented difference, its CI, Welch's t, P(A > B)."""
    sign = 1.0 if a_row["higher_is_better"] else -1.0
    a, b = sign * np.asarray(a_row["values"]), sign * np.asarray(b_row["values"])
    t, p = st.welch(a, b)
    return {"a": a_row["model"], "b": b_row["model"], "task": a_row["task"], "where": a_row["where"],
            "metric": a_row["metric"], "difference": float(a.mean() - b.mean()), "ci": st.difference_ci(a, b),
            "t": t, "p": p, "prob_a_better": st.prob_greater(a, b), "n_a": len(a), "n_b": len(b)}


def pairwise(rows: list[dict]) -> list[dict]:
    """Every pair of models within each task and grid point; Holm over each such family."""
    families = defaultdict(list)
    for row in rows:
        families[(row["task"], row["where"])].append(row)
    tests = []
    for family in families.values():
        pairs = [compare(a, b) for a, b in itertools.combinations(sorted(family, key=lambda r: r["model"]), 2)]
        for pair, adjusted in zip(pairs, st.holm([p["p"] for p in pairs])):
            pair["p_holm"] = adjusted
        tests += pairs
    return tests


def aggregate(trials, outcomes, models) -> list[dict]:
    """Per model, the IQM of normalised scores over all its tasks and grid points, with a stratified
    bootstrap CI (each task a stratum), where every stratum has runs and there are enough in all."""
    rows = []
    for model in models:
        groups = defaultdict(list)
        for trial in trials:
            if trial.model == model and trial.name in outcomes:
                o = outcomes[trial.name]
                value = normalised(o, o.score)
                if value is not None:
                    groups[(trial.task, trial.point)].append(value)
        total = sum(len(g) for g in groups.values())
        if groups and total >= IQM_MIN_RUNS:
            value, ci = st.stratified_iqm_ci(list(groups.values()))
            rows.append({"model": model, "iqm": value, "ci": ci, "runs": total, "strata": len(groups)})
    return rows


def analyse(trials: list[Trial], outcomes: dict[str, Outcome]) -> dict:
    grouped = cells(trials, outcomes)
    rows = [cell_summary(cell, runs) for cell, runs in grouped.items()]
    models = list(dict.fromkeys(t.model for t in trials))
    curves = {}
    for cell, runs in grouped.items():
        lengths = {len(o.curve) for _, o in runs}
        if len(lengths) == 1 and None not in runs[0][1].curve:
            matrix = np.array([o.curve for _, o in runs], dtype=float)
            curves[f"{cell[0]}|{cell[1]}|{point_label(cell[2])}"] = {
                "model": cell[0], "task": cell[1], "where": point_label(cell[2]), "metric": runs[0][1].primary,
                "mean": matrix.mean(axis=0).tolist(), "low": matrix.min(axis=0).tolist(), "high": matrix.max(axis=0).tolist()}
    return {"cells": rows, "pairwise": pairwise(rows), "aggregate": aggregate(trials, outcomes, models),
            "curves": curves}
