"""The shipped `claims` study: --quick runs in minutes and decides every claim from its rules,
and the same study on a Ray cluster gives the same numbers."""

import json

from rnnzoo.studies import load_study, run_study

from .conftest import numbers


def test_quick_claims_runs_under_three_minutes_and_gives_every_verdict(claims_quick):
    run, seconds = claims_quick
    assert seconds < 180, f"claims --quick took {seconds:.0f} s"
    results = json.loads((run.out / "results.json").read_text())
    assert results["trials"] == {"planned": 25, "finished": 25}
    assert [c["name"] for c in results["claims"]] == [c.name for c in load_study("claims").claims]
    for claim in results["claims"]:
        assert claim["verdict"] in ("confirmed", "refuted", "inconclusive")
        assert all(rule["outcome"] in ("holds", "fails", "undecided") for rule in claim["rules"])
    # one seed decides no interval, but parameter counts and slopes are decided all the same
    by_name = {c["name"]: c for c in results["claims"]}
    assert by_name["gru_matches_lstm"]["rules"][1]["outcome"] == "holds"  # GRU(128) < LSTM(128)
    assert all(r["outcome"] != "undecided" for r in by_name["sequence_bound"]["rules"])
    tasks = {(c["model"], c["task"], c["where"]) for c in results["cells"]}
    assert ("lstm", "adding", "length=30") in tasks and ("transformer", "copy", "length=10") in tasks
    assert {g["task"] for g in results["gradients"]} == {"mnist", "adding", "copy"}


def test_the_same_study_on_a_ray_cluster_gives_the_same_numbers(claims_quick, ray_address, tmp_path, subset_datasets):
    local, _ = claims_quick
    out = tmp_path / "on_ray"
    run_study("claims", quick=True, out=out, address=ray_address, threads=1, datasets=subset_datasets, report=False)
    assert numbers(out) == numbers(local.out)
    assert len(numbers(out)) == 25
