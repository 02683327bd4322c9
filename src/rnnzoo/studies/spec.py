"""A study as data: a TOML file of experiments × grid × seeds, validated into frozen dataclasses.

    name = "demo"
    seeds = [0, 1, 2]
    overrides = { "training.epochs" = 3 }            # every trial
    grid = { "training.batch_size" = [32, 64] }      # crossed with every experiment

    [[experiments]]
    preset = "adding_lstm"                           # or an inline table: experiment = { name = ..., model = ... }
    model = "lstm"                                   # the name statistics group by (default: the preset)
    task = "adding"                                  # ditto (default: the data set and its view)
    grid = { "data.length" = [100, 1000] }           # crossed with this experiment only

    [[experiments]]
    preset = "adding_simple_rnn"
    model = "simple_rnn"
    grid = { "data.length" = [100, 1000] }

    [quick]                                          # what --quick changes: seeds, overrides, grid values
    seeds = [0, 1]
    overrides = { "training.epochs" = 1, "data.train_limit" = 512 }

    [[comparisons]]                                  # named pairs the claims' rules look at
    name = "lstm_vs_rnn"
    a = "lstm"
    b = "simple_rnn"                                 # or a list: the best of them on that task
    task = "adding"
    where = { "data.length" = "max", "training.batch_size" = 32 }   # a value, or "max" / "min"

    [[claims]]
    name = "lstm_remembers"
    text = "the LSTM beats the SimpleRNN on the adding problem at T = 1000"
    rules = [{ rule = "ci_excludes_zero", comparison = "lstm_vs_rnn" }]

Every error is one line naming the key at fault, like `rnnzoo.config`'s.
"""

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import ConfigError, read_toml
from ..presets import PRESETS, load_preset


class StudyError(ConfigError):
    """A study file that can't be used; the message starts with the file and key at fault."""


SECTIONS = ("data", "training", "optimizer")  # where dotted override keys may point
RULES = {  # rule name -> the keys it takes besides `rule` (see rules.py)
    "ci_excludes_zero": ("comparison",),
    "ci_within_margin": ("comparison", "margin"),
    "fewer_params": ("comparison",),
    "beats_baseline": ("model", "task", "where", "margin"),
    "slope_at_least": ("model", "task", "x", "y", "min"),
    "slope_above": ("model", "other", "task", "x", "y"),
}


@dataclass(frozen=True)
class ExperimentEntry:
    """One `[[experiments]]` entry: a base experiment (as a dict) and the names it is grouped under."""

    model: str
    task: str | None  # None: derived from each trial's data settings
    experiment: dict
    overrides: tuple[tuple[str, Any], ...] = ()
    grid: tuple[tuple[str, tuple], ...] = ()  # crossed with the study's grid, for this entry only


@dataclass(frozen=True)
class Comparison:
    """A named pair of cells: `a` against `b` on `task`, at the grid point `where` selects. `b` may
    be a list of models: the one with the best mean on that task and point is taken."""

    name: str
    a: str
    b: str | tuple[str, ...]
    task: str | None = None
    where: tuple[tuple[str, Any], ...] = ()
    metric: str | None = None  # default: the task's primary metric


@dataclass(frozen=True)
class Rule:
    rule: str
    options: tuple[tuple[str, Any], ...]

    def get(self, key, default=None):
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class Claim:
    name: str
    text: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Study:
    """A validated study; `expand` (trials.py) turns it into trials."""

    name: str
    experiments: tuple[ExperimentEntry, ...]
    seeds: tuple[int, ...]
    overrides: tuple[tuple[str, Any], ...] = ()
    grid: tuple[tuple[str, tuple], ...] = ()
    quick: dict = field(default_factory=dict, compare=False)
    comparisons: tuple[Comparison, ...] = ()
    claims: tuple[Claim, ...] = ()
    profile: dict = field(default_factory=dict, compare=False)
    description: str = ""
    source: str = "<study>"

    def quick_variant(self) -> "Study":
        """The study as `--quick` runs it: the `[quick]` seeds, overrides and grid values."""
        from dataclasses import replace

        quick = tuple(self.quick.get("overrides", {}).items())  # last, so they win over the entries' own
        quick_grid = {k: tuple(v) for k, v in self.quick.get("grid", {}).items()}
        regrid = lambda grid: tuple((k, quick_grid.get(k, v)) for k, v in grid)
        experiments = tuple(replace(e, grid=regrid(e.grid), overrides=(*e.overrides, *quick)) for e in self.experiments)
        profile = self.profile | self.quick.get("profile", {})
        return replace(self, seeds=tuple(self.quick.get("seeds", self.seeds)),
                       grid=regrid(self.grid), experiments=experiments, profile=profile, quick={})


# -- validation ----------------------------------------------------------------------------------

def _fail(where: str, message: str):
    raise StudyError(f"{where}: {message}")


def _keys(table: dict, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            _fail(f"{where}{key}", f"unknown key; expected one of {', '.join(allowed)}")


def _table(value, where: str) -> dict:
    if not isinstance(value, dict):
        _fail(where.rstrip("."), f"expected a table, got {type(value).__name__} {value!r}")
    return value


def _overrides(table, where: str) -> tuple[tuple[str, Any], ...]:
    for key, value in _table(table, where).items():
        section, _, leaf = key.partition(".")
        if section not in SECTIONS or not leaf or "." in leaf:
            _fail(f"{where}{key!r}", f"expected a dotted key like \"training.epochs\" in {', '.join(SECTIONS)}")
        if key == "training.seed":
            _fail(f"{where}{key!r}", "the seed comes from `seeds`, not an override")
        if isinstance(value, (dict, list)):
            _fail(f"{where}{key!r}", f"expected a number, string or boolean, got {value!r}")
    return tuple(table.items())


def _grid(table, where: str) -> tuple[tuple[str, tuple], ...]:
    checked = _overrides({k: 0 for k in _table(table, where)}, where)
    for key, values in table.items():
        if not isinstance(values, list) or not values or any(isinstance(v, (dict, list)) for v in values):
            _fail(f"{where}{key!r}", f"expected a non-empty array of values, got {values!r}")
    return tuple((key, tuple(table[key])) for key, _ in checked)


def _name(value, where: str) -> str:
    if not isinstance(value, str) or not value.replace("-", "_").isidentifier():
        _fail(where, f"expected a name of letters, digits, _ or -, got {value!r}")
    return value


def _experiment(entry, where: str) -> ExperimentEntry:
    entry = _table(entry, where)
    _keys(entry, ("preset", "experiment", "model", "task", "overrides", "grid"), f"{where}.")
    if ("preset" in entry) == ("experiment" in entry):
        _fail(where, "expected exactly one of `preset = \"lstm\"` or an inline `experiment = { ... }` table")
    if "preset" in entry:
        if entry["preset"] not in PRESETS:
            _fail(f"{where}.preset", f"unknown preset {entry['preset']!r}; expected one of {', '.join(PRESETS)}")
        experiment = load_preset(entry["preset"]).to_dict()
        default_model = entry["preset"]
    else:
        from ..config import parse

        experiment = parse(_table(entry["experiment"], f"{where}.experiment"), f"{where}.experiment").to_dict()
        default_model = experiment["name"]
    task = entry.get("task")
    if task is not None:
        _name(task, f"{where}.task")
    return ExperimentEntry(_name(entry.get("model", default_model), f"{where}.model"), task, experiment,
                           _overrides(entry.get("overrides", {}), f"{where}.overrides."),
                           _grid(entry.get("grid", {}), f"{where}.grid."))


def _comparison(entry, where: str, models: set) -> Comparison:
    entry = _table(entry, where)
    _keys(entry, ("name", "a", "b", "task", "where", "metric"), f"{where}.")
    for side in ("a", "b"):
        names = entry.get(side) if side == "b" and isinstance(entry.get(side), list) else [entry.get(side)]
        if not names or any(name not in models for name in names):
            _fail(f"{where}.{side}", f"expected one of the study's models ({', '.join(sorted(models))})"
                                     f"{' or a list of them' if side == 'b' else ''}, got {entry.get(side)!r}")
    b = tuple(entry["b"]) if isinstance(entry["b"], list) else entry["b"]
    return Comparison(_name(entry.get("name"), f"{where}.name"), entry["a"], b, entry.get("task"),
                      tuple(_table(entry.get("where", {}), f"{where}.where").items()), entry.get("metric"))


def _claim(entry, where: str, comparisons: set, models: set) -> Claim:
    entry = _table(entry, where)
    _keys(entry, ("name", "text", "rules"), f"{where}.")
    rules = entry.get("rules")
    if not isinstance(rules, list) or not rules:
        _fail(f"{where}.rules", "expected a non-empty array of rule tables like { rule = \"ci_excludes_zero\", comparison = \"x\" }")
    checked = []
    for i, rule in enumerate(rules):
        at = f"{where}.rules[{i}]"
        rule = _table(rule, at)
        kind = rule.get("rule")
        if kind not in RULES:
            _fail(f"{at}.rule", f"unknown rule {kind!r}; expected one of {', '.join(RULES)}")
        _keys({k: v for k, v in rule.items() if k != "rule"}, RULES[kind], f"{at}.")
        if "comparison" in RULES[kind] and rule.get("comparison") not in comparisons:
            _fail(f"{at}.comparison", f"expected one of the study's comparisons ({', '.join(sorted(comparisons))}), "
                                      f"got {rule.get('comparison')!r}")
        for key in ("model", "other"):
            if key in RULES[kind] and rule.get(key) not in models:
                _fail(f"{at}.{key}", f"expected one of the study's models ({', '.join(sorted(models))}), got {rule.get(key)!r}")
        checked.append(Rule(kind, tuple((k, v) for k, v in rule.items() if k != "rule")))
    return Claim(_name(entry.get("name"), f"{where}.name"), str(entry.get("text", "")), tuple(checked))


def parse_study(data: dict, source: str = "<study>") -> Study:
    """Validate a study given as a dict (as TOML parses it)."""
    where = f"{source}: "
    _keys(data, ("name", "description", "seeds", "overrides", "grid", "experiments", "quick", "comparisons",
                 "claims", "profile"), where)
    name = _name(data.get("name"), f"{source}: name")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds) \
            or len(set(seeds)) != len(seeds):
        _fail(f"{source}: seeds", f"expected a non-empty array of distinct non-negative integers, got {seeds!r}")
    experiments = data.get("experiments")
    if not isinstance(experiments, list) or not experiments:
        _fail(f"{source}: experiments", "expected a non-empty array of [[experiments]] tables")
    entries = tuple(_experiment(e, f"{source}: experiments[{i}]") for i, e in enumerate(experiments))
    models = {e.model for e in entries}
    quick = _table(data.get("quick", {}), f"{where}quick")
    _keys(quick, ("seeds", "overrides", "grid", "profile"), f"{where}quick.")
    grid = _grid(data.get("grid", {}), f"{where}grid.")
    gridded = set(dict(grid)) | {key for e in entries for key, _ in e.grid}
    for key, values in _grid(quick.get("grid", {}), f"{where}quick.grid.") or ():
        if key not in gridded:
            _fail(f"{where}quick.grid.{key!r}", "not in the study's own grid; --quick may only change its values")
    _overrides(quick.get("overrides", {}), f"{where}quick.overrides.")
    if "seeds" in quick:
        parse_study({**data, "seeds": quick["seeds"], "quick": {}}, f"{source} [quick]")
    comparisons = tuple(_comparison(c, f"{source}: comparisons[{i}]", models)
                        for i, c in enumerate(data.get("comparisons", [])))
    claims = tuple(_claim(c, f"{source}: claims[{i}]", {c.name for c in comparisons}, models)
                   for i, c in enumerate(data.get("claims", [])))
    profile = _table(data.get("profile", {}), f"{where}profile")
    _keys(profile, ("task", "lengths", "batches", "steps"), f"{where}profile.")
    study = Study(name, entries, tuple(seeds), _overrides(data.get("overrides", {}), f"{where}overrides."), grid, quick,
                  comparisons, claims, profile, str(data.get("description", "")), source)
    from .trials import expand  # every trial's experiment validated now, not in a worker an hour later

    expand(study)
    expand(study.quick_variant())
    return study


SHIPPED = ("claims",)


def load_study(argument: str | Path) -> Study:
    """A shipped study by name (`claims`) or the path of a study TOML file."""
    if str(argument) in SHIPPED:
        text = resources.files(__package__).joinpath(f"{argument}.toml").read_text(encoding="utf-8")
        return parse_study(tomllib.loads(text), str(argument))
    missing = f"no such file; expected a study .toml or one of {', '.join(SHIPPED)}"
    return parse_study(read_toml(argument, StudyError, missing), str(Path(argument)))
