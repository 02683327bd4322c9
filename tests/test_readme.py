"""The README's promises that code can check: its commands exist, CI runs its test command, its
example runs, its links lead somewhere, and its results table is the committed run's."""

import json
import re
from pathlib import Path

import pytest

from rnnzoo.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_blocks(language: str = "") -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def first_code_block() -> list[str]:
    block = re.search(r"```[a-z]*\n(.*?)```", README, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def subcommands(parser) -> dict:
    """{name: its argparse parser} for `rnnzoo NAME`, with `data fetch` as "data fetch"."""
    found = {}
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            found[name] = sub
            if sub._subparsers is not None:
                found.update({f"{name} {k}": v for k, v in subcommands(sub).items()})
    return found


def test_readme_is_short():
    assert len(README.splitlines()) <= 200


def test_first_block_is_exactly_the_main_job_and_the_tests():
    main_job, tests = first_code_block()  # exactly two lines, nothing else
    install = "python3 -m venv .venv && .venv/bin/pip install -q torch==2.13.0 -e '.[test]' && "
    assert main_job == install + ".venv/bin/rnnzoo reproduce"
    assert tests == install + ".venv/bin/python -m pytest"


def test_ci_runs_the_readme_test_command_with_the_docs_extra():
    _, tests = first_code_block()
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests.replace("'.[test]'", "'.[test,docs]'") in ci  # the same line, plus what the docs build needs
    assert "mkdocs build --strict" in ci


def test_the_commands_it_names_exist_with_their_flags():
    commands = subcommands(build_parser())
    code = "\n".join(code_blocks("[a-z]*") + re.findall(r"`([^`\n]+)`", README)).replace(" && ", "\n")
    command = r"^(?:\S*/)?rnnzoo ((?:data )?[a-z]+)((?: (?:--[a-z-]+|[A-Za-z_./<>-]+))*)"  # at a line's start
    named = re.findall(command, code, re.M)
    assert {name for name, _ in named} >= {"reproduce", "train", "resume", "evaluate", "summary", "data fetch", "bench"}
    for name, rest in named:
        assert name in commands, f"README names `rnnzoo {name}`, which is not a command"
        flags = {flag for action in commands[name]._actions for flag in action.option_strings}
        for flag in re.findall(r"--[a-z-]+", rest):
            assert flag in flags, f"README names `rnnzoo {name} {flag}`, which is not a flag of it"


def test_example_runs_and_does_what_its_comments_say(capsys):
    example = next(block for block in code_blocks("python") if block.startswith("import torch, rnnzoo"))
    assert len(example.strip().splitlines()) <= 15
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    model = namespace["model"]
    assert "Total params: 819,722" in capsys.readouterr().out
    assert model.count_params() == 819_722
    assert namespace["logits"].shape == (64, 10)
    assert namespace["optimizer"].iterations == 1  # the example took one real step
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("target", sorted(set(re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README))))
def test_links_lead_to_files_in_the_tree(target):
    assert (ROOT / target).exists(), f"README links to {target}, which is not in the tree"


def test_results_table_is_the_committed_run():
    results = json.loads((ROOT / "docs" / "results" / "results.json").read_text())
    rows = [line for line in README.splitlines() if line.startswith("| ") and "→ Dense(10)" in line]
    assert len(rows) == len(results) == 3
    for row, result in zip(rows, results.values()):
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1] == f"{result['params']:,}"
        assert cells[2] == f"{result['test']['accuracy']:.2%}"
        assert cells[4] == f"{result['test']['loss']:.4f}"
        assert cells[5] == f"{result['seconds_per_epoch']:.0f}"
