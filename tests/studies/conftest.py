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
