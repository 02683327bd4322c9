"""Study files: validation with one-line errors, stable trial names, the --quick variant."""

import tomllib

import pytest

from rnnzoo.studies import StudyError, expand, load_study, parse_study

from .conftest import TINY


def tiny(**changes) -> dict:
    data = tomllib.loads(TINY.read_text())
    data.update(changes)
    return data


def test_trials_cross_experiments_grid_and_seeds_with_stable_names():
    data = tiny(grid={"training.batch_size": [16, 32]})
    trials = expand(parse_study(data))
    assert len(trials) == 2 * 2 * 2
    assert [t.name for t in trials] == [t.name for t in expand(parse_study(tiny(grid={"training.batch_size": [16, 32]})))]
    assert trials[0].name.startswith("rnn-mnist-batch_size16-s0-")
    assert len({t.name for t in trials}) == 8
    # the name follows what is trained: one more epoch, another folder
    longer = expand(parse_study(tiny(overrides={**data["overrides"], "training.epochs": 3})))
    assert not {t.name for t in longer} & {t.name for t in expand(parse_study(tiny()))}


def test_quick_variant_takes_its_seeds_and_overrides():
    study = load_study(TINY).quick_variant()
    trials = expand(study)
    assert {t.seed for t in trials} == {0}
    assert {t.experiment["training"]["epochs"] for t in trials} == {1}


def test_the_shipped_claims_study_loads():
    study = load_study("claims")
    assert len(study.claims) == 5 and len(study.seeds) >= 3
    assert len(expand(study.quick_variant())) < len(expand(study))


@pytest.mark.parametrize("change,message", [
    ({"seeds": []}, "seeds: expected a non-empty array"),
    ({"seeds": [0, 0]}, "distinct"),
    ({"experiments": [{"preset": "lstmm"}]}, "experiments[0].preset: unknown preset 'lstmm'"),
    ({"experiments": [{"preset": "lstm", "experiment": {}}]}, "exactly one of"),
    ({"overrides": {"epochs": 2}}, "overrides.'epochs': expected a dotted key"),
    ({"overrides": {"training.seed": 2}}, "comes from `seeds`"),
    ({"overrides": {"training.epochs": 0}}, "training.epochs: expected a finite positive number, got 0"),
    ({"overrides": {"data.nonsense": 1}}, "data.nonsense: unknown key"),
    ({"grid": {"training.epochs": 3}}, "expected a non-empty array of values"),
    ({"quick": {"grid": {"training.epochs": [1]}}}, "not in the study's own grid"),
    ({"comparisons": [{"name": "x", "a": "gru", "b": "lstm"}]}, "comparisons[0].b: expected one of the study's models"),
    ({"claims": [{"name": "c", "rules": [{"rule": "magic"}]}]}, "claims[0].rules[0].rule: unknown rule 'magic'"),
    ({"claims": [{"name": "c", "rules": [{"rule": "ci_excludes_zero", "comparison": "nope"}]}]}, "comparison: expected one of"),
    ({"colour": "blue"}, "colour: unknown key"),
])
def test_errors_are_one_line_and_name_the_key(change, message):
    with pytest.raises(StudyError) as error:
        parse_study(tiny(**change), "s.toml")
    text = str(error.value)
    assert message in text and "\n" not in text and text.startswith("s.toml")


def test_a_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(StudyError, match="no such file"):
        load_study(tmp_path / "none.toml")
    (tmp_path / "bad.toml").write_text("name = ")
    with pytest.raises(StudyError, match="TOML syntax error"):
        load_study(tmp_path / "bad.toml")


def test_the_documented_examples_are_valid_studies():
    import re
    import textwrap
    from pathlib import Path

    import rnnzoo.studies.spec as spec

    page = (Path(__file__).resolve().parents[2] / "docs" / "studies.md").read_text()
    examples = re.findall(r"```toml\n(.*?)```", page, re.S)
    examples.append(textwrap.dedent(spec.__doc__.split("\n\n", 1)[1].split("Every error")[0]))
    for text in examples:
        assert expand(parse_study(tomllib.loads(text), "example"))
