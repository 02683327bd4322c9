"""The study's report: results.json (every number), report.md and one self-contained report.html.

The HTML page embeds its figures as base64 PNGs and its style inline: it can be mailed, archived
or opened offline and never fetches anything. The Markdown page links the same PNGs, written to
`figures/` beside it.
"""

import base64
import html
import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch

from .. import __version__
from ..files import atomic_write
from ..lab.environment import describe
from . import figures
from .analysis import analyse, clean
from .outcomes import outcome
from .rules import describe as describe_rule, evaluate
from .spec import Study
from .trials import Trial, point_label

GRADIENT_EXAMPLES = 64


def _cached(path: Path, key: dict, compute):
    """compute() once per `key`: a resumed study's report does not redo its measurements."""
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("key") == key:
            return saved["rows"]
    rows = compute()
    atomic_write(path, (json.dumps(clean({"key": key, "rows": rows}), indent=1) + "\n").encode())
    return rows


def _profile(study: Study, threads: int) -> list[dict]:
    from .profile import profile_model

    settings = study.profile
    if not settings.get("lengths"):
        return []
    torch.set_num_threads(threads)
    rows, seen = [], set()
    for entry in study.experiments:
        task = entry.task or entry.experiment["data"]["dataset"]
        if entry.model in seen or settings.get("task", task) != task:
            continue
        seen.add(entry.model)
        for row in profile_model(entry.experiment, settings["lengths"], settings.get("batches", [32]),
                                 steps=settings.get("steps", 3)):
            rows.append({"model": entry.model, **row})
    return rows


def _gradients(trials: list[Trial], out: Path, cache_dir, datasets) -> list[dict]:
    """‖∂L/∂h_t‖ of each model on each task, at the grid point with the longest sequences, first seed."""
    from ..config import parse
    from ..lab.run import examples
    from .gradients import gradient_norms

    picked = {}
    for trial in trials:
        if not (out / trial.name / "weights.safetensors").is_file():
            continue
        key = (trial.model, trial.task)
        steps = parse(trial.experiment, trial.name).task().steps
        if key not in picked or (steps, -trial.seed) > picked[key][0]:
            picked[key] = (steps, -trial.seed), trial
    rows = []
    for _, trial in picked.values():
        experiment = parse(trial.experiment, trial.name)
        task, _, test = examples(experiment, (datasets or {}).get(experiment.data.dataset), cache_dir)
        x, y, _ = test.batch(torch.arange(min(GRADIENT_EXAMPLES, len(test))))
        rows.append({"model": trial.model, "task": trial.task, "where": point_label(trial.point), "trial": trial.name,
                     "steps": task.steps, **gradient_norms(out / trial.name, task, x, y)})
    return rows


def build_results(study: Study, trials: list[Trial], out: Path, *, quick: bool, threads: int, cache_dir=None,
                  datasets=None, say=print) -> dict:
    """Everything the report shows, from the finished trials in `out` (measurements cached there)."""
    outcomes = {t.name: outcome(json.loads((out / t.name / "result.json").read_text()))
                for t in trials if (out / t.name / "result.json").is_file()}
    finished = [t for t in trials if t.name in outcomes]
    analysis = analyse(finished, outcomes)
    say("measuring step costs and gradient norms for the report")
    profile = _cached(out / "profile.json", {"profile": study.profile, "threads": threads},
                      lambda: _profile(study, threads))
    gradients = _cached(out / "gradients.json", {"trials": sorted(t.name for t in finished)},
                        lambda: _gradients(finished, out, cache_dir, datasets))
    claims = evaluate(study, analysis, profile)
    return clean({
        "study": study.name, "description": study.description, "source": study.source, "quick": quick,
        "command": f"rnnzoo study {study.source}{' --quick' if quick else ''}",
        "made": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "rnnzoo": __version__, "python": platform.python_version(), "torch": torch.__version__,
        "environment": describe(), "threads_per_trial": threads,
        "trials": {"planned": len(trials), "finished": len(finished)},
        **analysis, "profile": profile, "gradients": gradients, "claims": claims,
    })


# -- writing -------------------------------------------------------------------------------------

def _figures(results: dict) -> dict[str, tuple[str, bytes]]:
    """{file stem: (caption, PNG)} for the figures this study has data for."""
    made = {}
    if results["cells"]:
        made["params"] = ("Test metric against parameters (95 % bootstrap CI bars; dashed: Pareto front)",
                          figures.tradeoffs(results["cells"], "params", "parameters"))
        made["seconds"] = ("Test metric against training time (seconds, all epochs)",
                           figures.tradeoffs(results["cells"], "train_seconds", "training seconds"))
    if results["curves"]:
        made["curves"] = ("Learning curves: mean over seeds, band from the lowest to the highest seed",
                          figures.learning_curves(results["curves"]))
    if results["gradients"]:
        made["gradients"] = ("Gradient norm through time, ‖∂L/∂h_t‖ against t (trained weights, one test batch)",
                             figures.gradient_norms(results["gradients"]))
    if any("seconds" in p for p in results["profile"]):
        made["costs"] = ("One training step's time and activation memory against sequence length T",
                         figures.step_costs(results["profile"]))
    return made


def _number(value, digits=4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else str(value)


def _tables(results: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table, shared by the Markdown and the HTML page."""
    tables = [("Verdicts", ["claim", "verdict", "evidence"],
               [[c["text"] or c["name"], c["verdict"].upper(), "; ".join(describe_rule(r) for r in c["rules"])]
                for c in results["claims"]])] if results["claims"] else []
    tables.append(("Per model and task", ["model", "task", "metric", "n", "mean", "std", "95 % CI", "IQM (95 % CI)",
                                          "params", "train s"],
                   [[r["model"], f"{r['task']} {r['where']}".strip(), r["metric"], str(r["n"]), _number(r["mean"]),
                     _number(r["std"]), f"[{_number(r['ci'][0])}, {_number(r['ci'][1])}]",
                     f"{_number(r['iqm'])} [{_number(r['iqm_ci'][0])}, {_number(r['iqm_ci'][1])}]" if "iqm" in r else "—",
                     f"{r['params']:,}", f"{r['train_seconds']:.1f}"] for r in results["cells"]]))
    if results["pairwise"]:
        tables.append(("Pairwise (Welch's t, Holm within each task; difference oriented so + = a better)",
                       ["a", "b", "task", "difference", "95 % CI", "t", "p", "p (Holm)", "P(a > b)"],
                       [[p["a"], p["b"], f"{p['task']} {p['where']}".strip(), f"{p['difference']:+.4f}",
                         f"[{_number(p['ci'][0])}, {_number(p['ci'][1])}]", _number(p["t"], 2), _number(p["p"], 4),
                         _number(p["p_holm"], 4), f"{p['prob_a_better']:.2f}"] for p in results["pairwise"]]))
    if results["aggregate"]:
        tables.append(("IQM over all tasks (scores normalised: 0 = baseline, 1 = perfect; stratified bootstrap)",
                       ["model", "IQM", "95 % CI", "runs", "tasks"],
                       [[a["model"], _number(a["iqm"]), f"[{_number(a['ci'][0])}, {_number(a['ci'][1])}]",
                         str(a["runs"]), str(a["strata"])] for a in results["aggregate"]]))
    return tables


def _header(results: dict) -> list[str]:
    env = results["environment"]
    cpu = env.get("cpu", "") if isinstance(env, dict) else ""
    return [f"Study `{results['study']}`{' (quick)' if results['quick'] else ''}: {results['description']}".rstrip(": "),
            f"Made {results['made']} by `{results['command']}` with rnnzoo {results['rnnzoo']}, torch {results['torch']}, "
            f"Python {results['python']}, {results['threads_per_trial']} thread(s) per trial{', on ' + cpu if cpu else ''}; "
            f"{results['trials']['finished']} of {results['trials']['planned']} trials finished."]


def markdown(results: dict, pictures: dict) -> str:
    title, line = _header(results)
    lines = [f"# {title}", "", line, ""]
    for name, header, rows in _tables(results):
        lines += [f"## {name}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        lines.append("")
    for stem, (caption, _) in pictures.items():
        lines += [f"## {caption}", "", f"![{caption}](figures/{stem}.png)", ""]
    return "\n".join(lines)


STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}img{max-width:100%}.CONFIRMED{color:#060;font-weight:bold}.REFUTED{color:#a00;font-weight:bold}
.INCONCLUSIVE{color:#a60;font-weight:bold}figure{margin:1.5em 0}figcaption{font-style:italic}"""


def page(results: dict, pictures: dict) -> str:
    title, line = (html.escape(s).replace("`", "") for s in _header(results))
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>{STYLE}</style></head><body>",
             f"<h1>{title}</h1><p>{line}</p>"]
    for name, header, rows in _tables(results):
        parts.append(f"<h2>{html.escape(name)}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td class='{html.escape(c)}'>{html.escape(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    for stem, (caption, png) in pictures.items():
        data = base64.b64encode(png).decode()
        parts.append(f"<figure id='{stem}'><img alt='{html.escape(caption)}' src='data:image/png;base64,{data}'>"
                     f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(results: dict, out: Path) -> None:
    """results.json, report.md (+ figures/*.png) and the self-contained report.html, into `out`."""
    out = Path(out)
    pictures = _figures(results)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    for stem, (_, png) in pictures.items():
        atomic_write(out / "figures" / f"{stem}.png", png)
    atomic_write(out / "results.json", (json.dumps(results, indent=1, ensure_ascii=False) + "\n").encode())
    atomic_write(out / "report.md", markdown(results, pictures).encode())
    atomic_write(out / "report.html", page(results, pictures).encode())
