"""Verdicts: each claim's rules, written in the study file, applied to the measured numbers.

A rule ends as "holds", "fails" (the data says the opposite) or "undecided" (the interval
straddles the line, or runs are missing). A claim is confirmed when all its rules hold, refuted
when any fails, and inconclusive otherwise. Every rule reports the numbers it decided on.
"""

import math

from . import statistics as st
from .analysis import compare
from .spec import Comparison, Study


def _select(rows, model, task, where) -> dict | None:
    """The cell of `model` on `task` (any, if None) at the grid point `where` picks: values, or
    "max"/"min" for the largest or smallest value the study ran (so --quick's smaller grid works)."""
    found = [r for r in rows if r["model"] == model and (task is None or r["task"] == task)]
    for key, wanted in where:
        values = [dict(map(tuple, r["point"])).get(key) for r in found]
        if wanted in ("max", "min"):
            present = [v for v in values if v is not None]
            wanted = (max if wanted == "max" else min)(present) if present else None
        found = [r for r, v in zip(found, values) if v == wanted]
    return found[0] if len(found) == 1 else None


def comparison(rows, spec: Comparison, tests) -> dict | None:
    a = _select(rows, spec.a, spec.task, spec.where)
    if isinstance(spec.b, tuple):  # the best of several models, on a's task and grid point
        found = [c for c in (_select(rows, m, a and a["task"], spec.where) for m in spec.b) if c is not None]
        b = max(found, key=lambda c: c["mean"] if c["higher_is_better"] else -c["mean"], default=None)
    else:
        b = _select(rows, spec.b, spec.task, spec.where)
    if a is None or b is None or (a["task"], a["where"]) != (b["task"], b["where"]):
        return None
    result = compare(a, b)
    for test in tests:  # the Holm-adjusted p of the same pair, from its task's family
        if {test["a"], test["b"]} == {a["model"], b["model"]} and (test["task"], test["where"]) == (a["task"], a["where"]):
            result["p_holm"] = test["p_holm"]
    result.update(name=spec.name, params_a=a["params"], params_b=b["params"])
    return result


def _interval_rule(low, high, line_low, line_high=None):
    """holds: the interval is above `line_low` (and, with `line_high`, inside [line_low, line_high])."""
    if math.isnan(low) or math.isnan(high):
        return "undecided"
    if line_high is None:
        return "holds" if low > line_low else "fails" if high < line_low else "undecided"
    if line_low <= low and high <= line_high:
        return "holds"
    return "fails" if high < line_low or low > line_high else "undecided"


def _slope(study_rows, profile, model, task, x, y):
    if x.startswith("profile."):
        points = [(p[x.partition(".")[2]], p["seconds"]) for p in profile if p["model"] == model and "seconds" in p
                  and p["batch"] == max(q["batch"] for q in profile)]
    else:
        points = [(dict(map(tuple, r["point"])).get(x), r[y]) for r in study_rows
                  if r["model"] == model and (task is None or r["task"] == task)]
        points = [(a, b) for a, b in points if a is not None]
    return st.loglog_slope(*zip(*points)) if len(points) >= 2 else float("nan"), points


def evaluate(study: Study, analysis: dict, profile: list[dict]) -> list[dict]:
    rows, tests = analysis["cells"], analysis["pairwise"]
    comparisons = {c.name: comparison(rows, c, tests) for c in study.comparisons}
    verdicts = []
    for claim in study.claims:
        results = []
        for rule in claim.rules:
            detail = {"rule": rule.rule, **dict(rule.options)}
            if "comparison" in detail:
                found = comparisons[detail["comparison"]]
                if found is None:
                    results.append({**detail, "outcome": "undecided", "why": "no runs for this comparison"})
                    continue
                detail["numbers"] = found
            if rule.rule == "ci_excludes_zero":
                outcome = _interval_rule(*found["ci"], 0.0)
            elif rule.rule == "ci_within_margin":
                margin = float(rule.get("margin"))
                outcome = _interval_rule(*found["ci"], -margin, margin)
            elif rule.rule == "fewer_params":
                outcome = "holds" if found["params_a"] < found["params_b"] else "fails"
            elif rule.rule == "beats_baseline":
                cell = _select(rows, rule.get("model"), rule.get("task"), tuple(dict(rule.get("where", {})).items()))
                if cell is None or cell["baseline"] is None:
                    results.append({**detail, "outcome": "undecided", "why": "no such cell, or its task has no baseline"})
                    continue
                sign = 1.0 if cell["higher_is_better"] else -1.0
                low, high = sorted((sign * cell["ci"][0], sign * cell["ci"][1]))
                outcome = _interval_rule(low, high, sign * cell["baseline"] + float(rule.get("margin", 0.0)))
                detail["numbers"] = {k: cell[k] for k in ("model", "task", "where", "metric", "mean", "ci", "baseline", "n")}
            elif rule.rule == "slope_at_least":
                slope, points = _slope(rows, profile, rule.get("model"), rule.get("task"), rule.get("x"), rule.get("y", "train_seconds"))
                outcome = "undecided" if math.isnan(slope) else "holds" if slope >= float(rule.get("min")) else "fails"
                detail["numbers"] = {"slope": slope, "points": points}
            else:  # slope_above: the model's time grows faster with x than the other's
                mine, points = _slope(rows, profile, rule.get("model"), rule.get("task"), rule.get("x"), rule.get("y", "train_seconds"))
                theirs, other = _slope(rows, profile, rule.get("other"), rule.get("task"), rule.get("x"), rule.get("y", "train_seconds"))
                outcome = "undecided" if math.isnan(mine) or math.isnan(theirs) else "holds" if mine > theirs else "fails"
                detail["numbers"] = {"slope": mine, "other_slope": theirs, "points": points, "other_points": other}
            results.append({**detail, "outcome": outcome})
        outcomes = [r["outcome"] for r in results]
        verdict = ("confirmed" if all(o == "holds" for o in outcomes) else
                   "refuted" if "fails" in outcomes else "inconclusive")
        verdicts.append({"name": claim.name, "text": claim.text, "verdict": verdict, "rules": results})
    return verdicts


def describe(rule: dict) -> str:
    """One line: what the rule looked at and the numbers it decided on."""
    n = rule.get("numbers") or {}
    kind = rule["rule"]
    if "why" in rule:
        return f"{kind}: {rule['why']}"
    if kind in ("ci_excludes_zero", "ci_within_margin"):
        bound = f" (margin ±{rule['margin']})" if kind == "ci_within_margin" else ""
        return (f"{kind}{bound}: {n['a']} − {n['b']} on {n['task']} {n['where']}".rstrip() +
                f", {n['metric']} difference {_f(n['difference'], '+.4f')}, 95 % CI [{_f(n['ci'][0], '+.4f')}, "
                f"{_f(n['ci'][1], '+.4f')}], Welch p {_f(n.get('p'), '.3g')} (Holm {_f(n.get('p_holm'), '.3g')}), "
                f"P(a > b) {_f(n['prob_a_better'], '.2f')}, n {n['n_a']}/{n['n_b']}")
    if kind == "fewer_params":
        return f"fewer_params: {n['a']} {n['params_a']:,} against {n['b']} {n['params_b']:,} parameters"
    if kind == "beats_baseline":
        return (f"beats_baseline: {n['model']} on {n['task']} {n['where']}".rstrip() +
                f", {n['metric']} {_f(n['mean'], '.4f')} (95 % CI [{_f(n['ci'][0], '.4f')}, {_f(n['ci'][1], '.4f')}], "
                f"n {n['n']}) against baseline {_f(n['baseline'], '.4f')}")
    y = rule.get("y", "train_seconds" if not rule["x"].startswith("profile.") else "step seconds")
    if kind == "slope_at_least":
        return f"slope_at_least: {rule['model']} {y} ∝ {rule['x']}^{_f(n['slope'], '.2f')} (needs ≥ {rule['min']})"
    return (f"slope_above: {rule['model']} {y} ∝ {rule['x']}^{_f(n['slope'], '.2f')}, "
            f"{rule['other']} ^{_f(n['other_slope'], '.2f')}")


def _f(value, spec: str) -> str:
    """A number formatted, or n/a where there is none (one run: no interval, no test)."""
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)
