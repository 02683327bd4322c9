"""Running a study: finished trials are never run again, and no kill changes the results —
neither a SIGKILL of the driver (then --resume) nor a worker killed mid-trial (retried)."""

import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rnnzoo.lab import OutputExistsError
from rnnzoo.studies import expand, load_study, run_study
from rnnzoo.training import checkpoint

from .conftest import HERE, TINY, numbers


def fingerprints(out: Path) -> dict:
    """(mtime, sha256) of every file of every finished trial."""
    return {str(f.relative_to(out)): (f.stat().st_mtime_ns, hashlib.sha256(f.read_bytes()).hexdigest())
            for result in out.glob("*/result.json") for f in result.parent.rglob("*") if f.is_file()}


def test_study_writes_one_run_folder_per_trial(tiny_study):
    out = tiny_study.out
    trials = expand(load_study(TINY))
    assert sorted(p.parent.name for p in out.glob("*/result.json")) == sorted(t.name for t in trials)
    for trial in trials:
        experiment = json.loads((out / trial.name / "experiment.json").read_text())
        assert experiment["training"]["seed"] == trial.seed and experiment["training"]["epochs"] == 2
        assert (out / trial.name / "weights.safetensors").is_file()  # `rnnzoo evaluate` works on it
    results = json.loads((out / "results.json").read_text())
    assert {(c["model"], c["n"]) for c in results["cells"]} == {("rnn", 2), ("gru", 2)}


def test_a_second_run_refuses_without_resume_and_reruns_nothing_with_it(tiny_study, subset_datasets):
    with pytest.raises(OutputExistsError, match="--resume"):
        run_study(TINY, out=tiny_study.out, datasets=subset_datasets)
    before = fingerprints(tiny_study.out)
    run_study(TINY, out=tiny_study.out, datasets=subset_datasets, resume=True)
    assert fingerprints(tiny_study.out) == before


def test_sigkill_of_the_driver_then_resume_equals_an_uninterrupted_study(tiny_study, tmp_path):
    out = tmp_path / "study"
    command = [sys.executable, str(HERE / "driver.py"), str(TINY), str(out)]
    driver = subprocess.run([*command, "--kill-after-first"], capture_output=True, timeout=300)
    assert driver.returncode == -signal.SIGKILL, driver.stderr.decode()[-2000:]  # killed as the first trial ended
    finished = fingerprints(out)
    assert finished, "no trial finished before the kill"
    assert len(list(out.glob("*/result.json"))) < 4, "the study ended before it could be killed"
    time.sleep(1)  # the workers die with the driver (PR_SET_PDEATHSIG); give the kernel a moment
    subprocess.run([*command, "--resume"], check=True, capture_output=True, timeout=600)
    after = fingerprints(out)
    assert {k: after[k] for k in finished} == finished  # finished trials untouched
    assert numbers(out) == numbers(tiny_study.out)


def test_a_killed_worker_is_retried_and_resumes_from_its_checkpoint(tmp_path, subset_datasets):
    study = load_study(TINY)
    from dataclasses import replace

    study = replace(study, seeds=(0,), overrides=(*study.overrides, ("training.epochs", 12)),
                    experiments=study.experiments[:1])
    out = tmp_path / "killed"
    errors = []
    runner = threading.Thread(target=lambda: _run(errors, study, out, subset_datasets))
    runner.start()
    [trial] = expand(study)
    checkpoints, killed = out / trial.name / "checkpoints", None
    deadline = time.monotonic() + 300
    while killed is None and runner.is_alive() and time.monotonic() < deadline:
        if checkpoint.latest(checkpoints, log=lambda _: None) and not (out / trial.name / "result.json").exists():
            for child in multiprocessing.active_children():
                if child.name == "rnnzoo-study-worker":  # the study's only worker
                    os.kill(child.pid, signal.SIGKILL)
                    killed = child.pid
        time.sleep(0.01)
    runner.join()
    assert not errors, errors
    assert killed, "the trial finished before a checkpoint could be caught"
    info = json.loads((out / trial.name / "trial.json").read_text())
    assert info["attempts"] == 2 and info["resumed"] is True
    reference = tmp_path / "reference"
    run_study(study, out=reference, datasets=subset_datasets, report=False)
    assert numbers(out) == numbers(reference)


def _run(errors, study, out, datasets):
    try:
        run_study(study, out=out, datasets=datasets, report=False)
    except Exception as error:  # noqa: BLE001 - handed to the test thread
        errors.append(error)


def test_tensorboard_event_files_hold_each_epoch(tmp_path, subset_datasets):
    from dataclasses import replace

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    study = load_study(TINY)
    study = replace(study, seeds=(0,), experiments=study.experiments[:1])
    run_study(study, out=tmp_path / "tb", datasets=subset_datasets, tensorboard=True, report=False)
    [trial] = expand(study)
    events = EventAccumulator(str(tmp_path / "tb" / trial.name / "tensorboard"))
    events.Reload()
    result = json.loads((tmp_path / "tb" / trial.name / "result.json").read_text())
    assert [e.value for e in events.Scalars("epoch/loss")] == pytest.approx([e["loss"] for e in result["epochs"]])
    assert len(events.Scalars("batch/loss")) == 2 * 8  # 2 epochs of 256 examples in batches of 32


def test_ray_tasks_keep_their_gemm_choices_where_the_driver_does(ray_address, tmp_path, subset_datasets, monkeypatch):
    """A Ray worker is started by the cluster, not by the driver: without the driver's RNNZOO_*
    settings it would time the projection's GEMMs into the build's own file, and a shape timed
    apart from the driver's runs may land on another engine, which rounds differently."""
    from dataclasses import replace

    folder = tmp_path / "calibration"
    folder.mkdir()
    monkeypatch.setenv("RNNZOO_CALIBRATION_DIR", str(folder))
    study = load_study(TINY)
    study = replace(study, seeds=(0,), experiments=study.experiments[1:])
    run_study(study, out=tmp_path / "on_ray", address=ray_address, threads=1, datasets=subset_datasets, report=False)
    assert [f.suffix for f in folder.glob("recurrent-*")] == [".json"]
