"""The README's promises that code can check: CI runs its test command, its API example works."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def first_code_block() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```[a-z]*\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_first_block_is_the_main_job_and_the_tests():
    main_job, tests = first_code_block()
    assert "rnnzoo reproduce" in main_job and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    _, tests = first_code_block()
    assert tests in (ROOT / ".ci" / "run").read_text()


def test_layers_example_runs():
    text = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(import torch, rnnzoo.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["logits"].shape == (64, 10)
    assert namespace["model"].count_params() == 819_722
