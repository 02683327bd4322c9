"""benchmarks/ab_builds.py times this tree's kernels against another build of them, in one process.

Against a copy of this very build, one round at a tiny shape: what is tested is that the other
build really is loaded apart (the same bits, every case and mode reported) and that bad arguments
are one-line errors. Its use is in docs/performance.md.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ab_builds.py"


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def test_a_copy_of_this_build_runs_apart_and_gives_the_same_bits(native, tmp_path):
    other = tmp_path / "rnnzoo_recurrent.so"
    shutil.copy(native.__file__, other)
    out = tmp_path / "ab.json"
    cases = ("Simple_RNNs", "GRU B64 T28 U64")  # a notebook model and a sweep case
    printed = run(other, "--cases", ",".join(cases), "--shapes", "2:3,3:1", "--rounds", "1", "--json", out)
    assert printed.returncode == 0, printed.stderr
    report = json.loads(out.read_text())
    rows = [(row["case"], row["batch"], row["steps"], row["mode"]) for row in report["results"]]
    assert rows == [(case, batch, steps, mode) for case in cases for batch, steps in ((2, 3), (3, 1))
                    for mode in ("train", "infer")]
    assert all(row["same_bits"] and row["old_ms"] > 0 and row["new_ms"] > 0 for row in report["results"])
    assert "Simple_RNNs B3 T1: the same bits" in printed.stdout
    assert "GRU B3 T1 U64: the same bits" in printed.stdout  # the sweep case's name at the shape given


def test_bad_arguments_are_one_line_errors(native, tmp_path):
    other = tmp_path / "rnnzoo_recurrent.so"
    shutil.copy(native.__file__, other)
    for args, message in (((tmp_path / "missing.so",), "ab_builds: no library at"),
                          ((native.__file__,), "is this tree's build (expected another one)"),
                          ((other, "--cases", "Transformers"), "no case 'Transformers'")):
        printed = run(*args)
        assert printed.returncode == 1
        assert message in printed.stderr.strip().splitlines()[-1]


def test_a_build_for_other_instructions_is_refused_before_anything_is_built(native, tmp_path):
    """--isa avx2 wants an rnnzoo_recurrent_avx2.so (its module name is its init function's): this
    ISA's library is refused in one line, before this tree's AVX2 kernels would be compiled."""
    other = tmp_path / "rnnzoo_recurrent.so"
    shutil.copy(native.__file__, other)
    printed = run(other, "--isa", "avx2")
    assert printed.returncode == 1, printed.stderr
    assert printed.stderr.strip().splitlines()[-1] == (
        f"ab_builds: {other} is not a build of the kernels for isa=avx2 (expected another build's "
        "rnnzoo_recurrent_avx2.so)")
    assert "compiling" not in printed.stderr
