"""The reference pages that are written by hand stay complete: every CLI flag and every TOML key
the code accepts is documented. (`mkdocs build --strict` in CI checks links and the API pages.)"""

import re
from dataclasses import fields
from pathlib import Path

import pytest

from rnnzoo import config
from rnnzoo.cli.main import build_parser
from rnnzoo.layers.registry import CELL_TYPES, LAYER_TYPES

DOCS = Path(__file__).resolve().parents[1] / "docs"


def commands(parser, prefix=""):
    """(`rnnzoo NAME`, its parser) for every subcommand, nested ones (`data fetch`) included."""
    for action in parser._subparsers._group_actions:
        for name, sub in action.choices.items():
            if sub._subparsers is None:
                yield f"{prefix}{name}", sub
            else:
                yield from commands(sub, f"{prefix}{name} ")


@pytest.mark.parametrize("name,parser", list(commands(build_parser())), ids=lambda x: x if isinstance(x, str) else "")
def test_cli_page_documents_every_subcommand_and_flag(name, parser):
    text = (DOCS / "cli.md").read_text()
    section = re.search(rf"^## `rnnzoo {name}`\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert section, f"docs/cli.md has no section for `rnnzoo {name}`"
    for action in parser._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert f"`{flag}" in section.group(1), f"docs/cli.md: `rnnzoo {name}` does not document {flag}"


def test_experiments_page_documents_every_key():
    text = (DOCS / "experiments.md").read_text()
    sections = {"data": config.DataConfig, "optimizer": config.OptimizerConfig, "training": config.TrainingConfig}
    for section, cls in sections.items():
        table = re.search(rf"^## `\[{section}\]`\n(.*?)(?=^## |\Z)", text, re.S | re.M).group(1)
        for field in fields(cls):
            assert f"| `{field.name}` |" in table, f"docs/experiments.md: [{section}] does not document {field.name}"
    for key in ("name", "notes", "model", "input", "layers"):
        assert f"| `{key}` |" in text
    layers = re.search(r"^### Layer tables\n(.*?)(?=^## |\Z)", text, re.S | re.M).group(1)
    for kind, cls in LAYER_TYPES.items():
        row = re.search(rf"^\| `\"{kind}\"` \|(.*)$", layers, re.M)
        assert row, f"docs/experiments.md: no row for layer type {kind}"
        documented = set(re.findall(r"`(\w+)`", row.group(1)))
        for base in ("SimpleRNN", "MinGRU"):
            if f"{base} keys" in row.group(1):
                documented |= set(re.findall(r"`(\w+)`", re.search(rf'^\| `"{base}"` \|(.*)$', layers, re.M).group(1)))
        accepted = set(config.constructor_parameters(cls)) - {"backward_layer", "input_dim"}
        assert accepted <= documented, f"docs/experiments.md: {kind} misses {sorted(accepted - documented)}"
    cells = re.search(r"^An `RNN`'s cells are (.*?)\n\n", layers, re.S | re.M).group(1)
    documented = set(re.findall(r"`\"?(\w+)\"?`", cells))
    for kind, cls in CELL_TYPES.items():
        assert kind in documented, f"docs/experiments.md: no mention of cell type {kind}"
        accepted = set(config.constructor_parameters(cls))
        assert accepted <= documented, f"docs/experiments.md: {kind} misses {sorted(accepted - documented)}"
