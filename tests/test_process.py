"""rnnzoo.process.tune_malloc: freed blocks, however big, are reused instead of mapped afresh."""

import subprocess
import sys

import pytest

SCRIPT = """
import resource, sys
import torch
if sys.argv[1] == "tuned":
    from rnnzoo import process
    assert process.tune_malloc()
faults = []
for _ in range(20):  # a 64 MiB activation allocated, written and freed, as in every training step
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    x = torch.empty(16 << 20)
    x.fill_(1.0)
    del x
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(min(faults[1:]), max(faults[-3:]))
"""


def page_faults(mode: str) -> tuple[int, int]:
    """(fewest page faults of an allocation after the first, most of the last three)."""
    run = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    fewest, last = run.stdout.split()
    return int(fewest), int(last)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_a_big_block_freed_and_allocated_again_stops_costing_page_faults():
    """64 MiB = 16,384 pages: by default mapped afresh every time; tuned, the heap serves it once
    it holds enough freed memory (glibc takes a few rounds to get there)."""
    assert page_faults("default")[0] > 10_000
    assert page_faults("tuned")[1] < 100
