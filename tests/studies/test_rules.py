"""Verdicts from rules, on made-up outcomes whose answers are known."""

import pytest

from rnnzoo.studies.analysis import analyse
from rnnzoo.studies.outcomes import Outcome
from rnnzoo.studies.rules import evaluate
from rnnzoo.studies.spec import parse_study
from rnnzoo.studies.trials import Trial

from .conftest import TINY


def outcome(score, *, params=100, metric="accuracy", higher=True, baseline=0.1, seconds=1.0):
    return Outcome(metric, higher, {metric: baseline}, {"loss": 0.0, metric: score}, params, seconds, seconds, [score])


def study(comparisons, claims):
    import tomllib

    data = tomllib.loads(TINY.read_text())
    data["experiments"] += [{"model": name, "experiment": {**data["experiments"][0]["experiment"], "name": name}}
                            for name in ("lstm", "transformer")]
    return parse_study({**data, "comparisons": comparisons, "claims": claims}, "rules test")


def trials_and_outcomes(cells):
    """cells: {(model, task, point): [Outcome per seed]}."""
    trials, outcomes = [], {}
    for (model, task, point), runs in cells.items():
        for seed, result in enumerate(runs):
            trial = Trial(f"{model}-{task}-{point}-{seed}", model, task, point, seed, {})
            trials.append(trial)
            outcomes[trial.name] = result
    return trials, outcomes


def verdicts(cells, comparisons, claims, profile=()):
    trials, outcomes = trials_and_outcomes(cells)
    return {c["name"]: c for c in evaluate(study(comparisons, claims), analyse(trials, outcomes), list(profile))}


def test_ci_excludes_zero_confirms_refutes_or_leaves_undecided():
    comparisons = [{"name": "c", "a": "gru", "b": "rnn"}]
    claims = [{"name": "x", "rules": [{"rule": "ci_excludes_zero", "comparison": "c"}]}]
    better = {("gru", "t", ()): [outcome(v) for v in (0.90, 0.91, 0.92)], ("rnn", "t", ()): [outcome(v) for v in (0.50, 0.52, 0.51)]}
    worse = {("gru", "t", ()): better[("rnn", "t", ())], ("rnn", "t", ()): better[("gru", "t", ())]}
    mixed = {("gru", "t", ()): [outcome(v) for v in (0.5, 0.9, 0.7)], ("rnn", "t", ()): [outcome(v) for v in (0.6, 0.8, 0.7)]}
    assert verdicts(better, comparisons, claims)["x"]["verdict"] == "confirmed"
    assert verdicts(worse, comparisons, claims)["x"]["verdict"] == "refuted"
    assert verdicts(mixed, comparisons, claims)["x"]["verdict"] == "inconclusive"


def test_lower_is_better_metrics_are_oriented():
    comparisons = [{"name": "c", "a": "gru", "b": "rnn"}]
    claims = [{"name": "x", "rules": [{"rule": "ci_excludes_zero", "comparison": "c"},
                                      {"rule": "beats_baseline", "model": "gru", "task": "adding"}]}]
    loss = lambda v: outcome(v, metric="loss", higher=False, baseline=0.167)
    cells = {("gru", "adding", ()): [loss(v) for v in (0.01, 0.02, 0.015)], ("rnn", "adding", ()): [loss(v) for v in (0.16, 0.17, 0.165)]}
    result = verdicts(cells, comparisons, claims)["x"]
    assert result["verdict"] == "confirmed"
    assert result["rules"][0]["numbers"]["difference"] == pytest.approx(0.165 - 0.015)


def test_margin_params_best_of_and_grid_point_selection():
    comparisons = [{"name": "same", "a": "gru", "b": "lstm", "task": "mnist"},
                   {"name": "vs_best", "a": "transformer", "b": ["lstm", "gru", "rnn"], "task": "copy",
                    "where": {"data.length": "max"}}]
    claims = [{"name": "matches", "rules": [{"rule": "ci_within_margin", "comparison": "same", "margin": 0.01},
                                            {"rule": "fewer_params", "comparison": "same"}]},
              {"name": "attention", "rules": [{"rule": "ci_excludes_zero", "comparison": "vs_best"}]}]
    long, short = (("data.length", 1000),), (("data.length", 100),)
    cells = {("gru", "mnist", ()): [outcome(v, params=75) for v in (0.950, 0.952, 0.951)],
             ("lstm", "mnist", ()): [outcome(v, params=100) for v in (0.951, 0.953, 0.952)],
             # at T = 1000 the best recurrent model is the GRU (0.6), which the Transformer beats
             ("transformer", "copy", long): [outcome(v) for v in (0.80, 0.81, 0.82)],
             ("gru", "copy", long): [outcome(v) for v in (0.60, 0.61, 0.59)],
             ("lstm", "copy", long): [outcome(v) for v in (0.30, 0.31, 0.29)],
             ("rnn", "copy", long): [outcome(v) for v in (0.20, 0.21, 0.19)],
             # at T = 100 the LSTM would win: a rule reading this point would refute the claim
             ("transformer", "copy", short): [outcome(v) for v in (0.5, 0.5, 0.5)],
             ("lstm", "copy", short): [outcome(v) for v in (0.9, 0.9, 0.9)]}
    result = verdicts(cells, comparisons, claims)
    assert result["matches"]["verdict"] == "confirmed"
    numbers = result["attention"]["rules"][0]["numbers"]
    assert (numbers["b"], numbers["where"], result["attention"]["verdict"]) == ("gru", "length=1000", "confirmed")


def test_slope_rules_read_the_profile_and_the_grid():
    claims = [{"name": "bound", "rules": [{"rule": "slope_at_least", "model": "lstm", "x": "profile.length", "min": 0.8},
                                          {"rule": "slope_at_least", "model": "lstm", "task": "adding", "x": "data.length",
                                           "y": "train_seconds", "min": 0.8}]}]
    profile = [{"model": "lstm", "length": n, "batch": 32, "seconds": 0.001 * n} for n in (100, 300, 1000)]
    cells = {("lstm", "adding", (("data.length", n),)): [outcome(0.1, seconds=s)] for n, s in ((100, 10.0), (1000, 30.0))}
    result = verdicts(cells, [], claims, profile)["bound"]
    assert result["rules"][0]["numbers"]["slope"] == pytest.approx(1.0)
    assert result["rules"][1]["numbers"]["slope"] == pytest.approx(0.477, abs=1e-3)  # log10(3)
    assert [r["outcome"] for r in result["rules"]] == ["holds", "fails"] and result["verdict"] == "refuted"
