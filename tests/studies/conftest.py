import json
from pathlib import Path

import pytest

from .driver import subset

HERE = Path(__file__).parent
TINY = HERE / "tiny.toml"


@pytest.fixture(scope="session")
def subset_datasets() -> dict:
    return subset()


def numbers(out: Path) -> dict:
    """Every trial's learned numbers (test metrics, per-epoch losses), without its timings."""
    found = {}
    for result in sorted(Path(out).glob("*/result.json")):
        data = json.loads(result.read_text())
        found[result.parent.name] = {"test": data["test"], "params": data["params"],
                                     "epochs": [{k: v for k, v in e.items() if k != "seconds"} for e in data["epochs"]]}
    return found


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory, subset_datasets):
    """The tiny study, run once without interruption: the reference the fault tests compare with."""
    from rnnzoo.studies import run_study

    out = tmp_path_factory.mktemp("tiny") / "study"
    return run_study(TINY, out=out, datasets=subset_datasets, workers=2, threads=1)


@pytest.fixture(scope="session")
def claims_quick(tmp_path_factory, subset_datasets):
    """`rnnzoo study claims --quick` on the MNIST subset, run once locally, and how long it took."""
    import time

    from rnnzoo.studies import run_study

    out = tmp_path_factory.mktemp("claims") / "quick"
    started = time.monotonic()
    run = run_study("claims", quick=True, out=out, datasets=subset_datasets, threads=1)
    return run, time.monotonic() - started


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory):
    """A Ray cluster on 127.0.0.1: CI's (`ray start --head` in .ci/run, address in RNNZOO_RAY_ADDRESS),
    else one started here for the session and stopped after it."""
    import os
    import shutil
    import subprocess
    import sys

    if os.environ.get("RNNZOO_RAY_ADDRESS"):
        yield os.environ["RNNZOO_RAY_ADDRESS"]
        return
    ray = shutil.which("ray", path=str(Path(sys.executable).parent))
    if ray is None:
        pytest.fail("ray is not installed: pip install -e '.[test]' brings it")
    port = "6391"
    start = [ray, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
             "--disable-usage-stats", f"--temp-dir={tmp_path_factory.mktemp('ray')}"]
    subprocess.run(start, check=True, capture_output=True, timeout=300)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True, timeout=120)
