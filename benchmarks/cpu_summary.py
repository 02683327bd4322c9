"""CPU summary: what measure_cpu.sh measured on one CPU, against issue 13's targets, in one page.

    python benchmarks/cpu_summary.py TAG [--folder benchmarks/results]

Reads the files measure_cpu.sh writes under TAG (whichever are there) and prints, as Markdown:
the notebook's models run by run (% of the floor and × torch.nn, training and inference, and how
many runs meet 75 % and 85 %), the sweep's cases below 70 % of the floor or not ahead of torch.nn,
drift's medians, where a step's time goes, and low-memory training against the default. Every
figure is one the benchmarks printed; this only puts them side by side.
"""

import argparse
import json
from pathlib import Path

TARGET = {"train": 75.0, "infer": 85.0}  # % of the floor
SWEEP_TARGET = 70.0
MODELS = {"Simple_RNNs": "simple_rnn", "LSTMs": "lstm", "GRUs": "gru"}


def percent(result: dict, mode: str, contender: str = "rnnzoo") -> float:
    return 100 * result[f"floor_{mode}_ms"] / result[f"{mode}_ms"][contender]


def lead(result: dict, mode: str) -> float:
    return result[f"{mode}_ms"]["torch.nn"] / result[f"{mode}_ms"]["rnnzoo"]


def notebook_models(runs: list[tuple[str, list[dict]]]) -> list[str]:
    lines = ["| model | run | train, % of floor | × torch.nn | infer, % of floor | × torch.nn |",
             "|---|---|---:|---:|---:|---:|"]
    met = {(model, mode): 0 for model in MODELS for mode in TARGET}
    for name, results in runs:
        for result in results:
            if result["case"] not in MODELS:
                continue
            cells = []
            for mode in TARGET:
                value = percent(result, mode)
                met[(result["case"], mode)] += value >= TARGET[mode]
                cells += [f"{value:.1f} %", f"{lead(result, mode):.2f}×"]
            lines.append(f"| {result['case']} | {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for model in MODELS:
        lines.append(f"- {model}: training at {TARGET['train']:g} % in {met[(model, 'train')]} of {len(runs)} runs, "
                     f"inference at {TARGET['infer']:g} % in {met[(model, 'infer')]} of {len(runs)}")
    return lines


def sweep(results: list[dict]) -> list[str]:
    cases = [result for result in results if result["case"] not in MODELS]
    lines = []
    for result in cases:
        short = [f"{mode} {percent(result, mode):.1f} %" for mode in TARGET if percent(result, mode) < SWEEP_TARGET]
        behind = [f"{mode} {lead(result, mode):.2f}×" for mode in TARGET if lead(result, mode) <= 1.0]
        if short or behind:
            parts = [", ".join(short)] if short else []
            parts += [f"not ahead of torch.nn: {', '.join(behind)}"] if behind else []
            lines.append(f"- {result['case']}: " + "; ".join(parts))
    lowest = {mode: min(percent(result, mode) for result in cases) for mode in TARGET}
    return [f"{len(cases)} cases; lowest % of floor: training {lowest['train']:.0f} %, inference "
            f"{lowest['infer']:.0f} %; below {SWEEP_TARGET:g} % or not ahead of torch.nn:"] + (lines or ["- none"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tag")
    parser.add_argument("--folder", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    def read(name: str) -> dict | None:
        path = args.folder / name
        return json.loads(path.read_text()) if path.exists() else None

    runs = [(f"bench_notebook_models_{args.tag}{run}", read(f"bench_notebook_models_{args.tag}{run}.json"))
            for run in ("", "_2", "_3")] + [(f"bench_{args.tag}", read(f"bench_{args.tag}.json"))]
    runs = [(name, report) for name, report in runs if report is not None]
    held = read(f"bench_notebook_models_{args.tag}_avx2.json")
    if not runs and held is None:
        raise SystemExit(f"cpu_summary.py: no bench_notebook_models_{args.tag}*.json or bench_{args.tag}.json in "
                         f"{args.folder}; expected the files measure_cpu.sh writes")
    machine = (runs[0][1] if runs else held)["machine"]
    out = [f"# {args.tag}: {machine['cpu']} ({machine['vendor']} family {machine['family']} model "
           f"{machine['model']}, {machine['isa']}), {machine['cpus']} CPUs", ""]
    if runs:
        out += ["## The notebook's models", ""] + notebook_models([(n, r["results"]) for n, r in runs]) + [""]
    if held is not None:
        out += ["## Held to AVX2 (`--isa avx2`)", ""] + notebook_models([("avx2", held["results"])]) + [""]
    full = read(f"bench_{args.tag}.json")
    if full is not None:
        out += ["## The sweep", ""] + sweep(full["results"]) + [""]
    drift, parts = [], []
    for model, name in MODELS.items():
        for mode, suffix in (("train", ""), ("infer", "_infer")):
            if (report := read(f"drift_{args.tag}_{name}{suffix}.json")) is not None:
                summary = report["summary"]
                drift.append(f"| {model} | {mode} | {summary['rounds']} | {summary['percent']['median']:.1f} % | "
                             f"{100 * summary['at_target']:.0f} % |")
            if (report := read(f"step_parts_{args.tag}_{name}{suffix}.json")) is not None:
                warm = report.get("warm_outside_s")  # not in the files of runs before the replay
                parts.append(f"| {model} | {mode} | {1e3 * report['native_s']:.2f} ms, "
                             f"{report['native_percent']:.1f} % | {1e3 * report['outside_s']:.2f} ms | "
                             f"{'-' if warm is None else f'{1e3 * warm:.2f} ms'} | "
                             f"{1e3 * report['step_s']:.2f} ms, {report['step_percent']:.1f} % |")
    if drift:
        out += ["## Drift", "", "| model | mode | rounds | median % of floor | rounds at the target |",
                "|---|---|---:|---:|---:|"] + drift + [""]
    if parts:
        out += ["## Where a step's time goes", "",
                "| model | mode | native calls | outside them | outside them, caches warm | step |",
                "|---|---|---:|---:|---:|---:|"] + parts + [""]
    if (low := read(f"low_memory_{args.tag}.json")) is not None:
        full_run, low_run = low["full"], low["low"]
        out += ["## Low-memory training", "",
                f"LSTM({low['units']}) at T {low['steps']}, batch {low['batch']}: full {full_run['step_ms']:.0f} ms, "
                f"peak {full_run['peak_rss_mb']:.0f} MB; low {low_run['step_ms']:.0f} ms, peak "
                f"{low_run['peak_rss_mb']:.0f} MB: {low_run['step_ms'] / full_run['step_ms']:.2f}× the time for "
                f"{low_run['peak_rss_mb'] / full_run['peak_rss_mb']:.2f} of the peak", ""]
    print("\n".join(out).rstrip())


if __name__ == "__main__":
    main()
