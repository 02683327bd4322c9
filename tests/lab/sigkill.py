"""A training run killed with SIGKILL in the middle of an epoch, for the lab's resume tests.

The child trains with a pause after every step, so that the kill lands mid-epoch, and with the
parent's thread count (tests/conftest.py), so that its sums round as the parent's do; the parent
kills it as soon as a checkpoint matching a pattern exists.
"""

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

SLOW_STEPS = textwrap.dedent("""
    import time
    import rnnzoo.lab.run as run_module
    from rnnzoo import kernels
    from rnnzoo.training import Callback
    kernels.configure(threads="all")
    class Slow(Callback):
        def on_batch_end(self, step, logs):
            time.sleep(0.05)
    real_fit = run_module.fit
    run_module.fit = lambda *a, callbacks=(), **k: real_fit(*a, callbacks=[*callbacks, Slow()], **k)
""")


def kill_at_checkpoint(script: str, args: list[str], run_dir: Path, pattern: str, timeout: float = 120) -> None:
    """Runs SLOW_STEPS, then script (which trains into run_dir), in a child with args, and kills it
    with SIGKILL once run_dir/checkpoints holds a folder matching pattern."""
    child = subprocess.Popen([sys.executable, "-c", SLOW_STEPS + textwrap.dedent(script), *args])
    deadline = time.monotonic() + timeout
    try:
        while not list((run_dir / "checkpoints").glob(pattern)):
            assert child.poll() is None, "the child finished or died before it could be killed"
            assert time.monotonic() < deadline, f"no checkpoint {pattern} appeared"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL


def assert_same_run(reference: Path, run_dir: Path, result) -> None:
    """The resumed run's weights equal the uninterrupted one's bit for bit, and so do its losses and test."""
    expected, got = load_file(reference / "weights.safetensors"), load_file(run_dir / "weights.safetensors")
    assert expected.keys() == got.keys()
    for key in expected:
        assert torch.equal(expected[key], got[key]), key
    want = json.loads((reference / "result.json").read_text())
    assert [e["loss"] for e in want["epochs"]] == result.history.loss
    assert want["test"] == result.test
