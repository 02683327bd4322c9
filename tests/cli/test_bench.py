"""`rnnzoo bench` end to end at its smallest: every contender timed, the floor measured, files written."""

import json

from rnnzoo.cli.main import main


def test_bench_smallest_run(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RNNZOO_KERAS_PYTHON", raising=False)
    out = tmp_path / "bench.json"
    assert main(["bench", "--sweep", "none", "--rounds", "1", "--no-memory", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert [r["case"] for r in report["results"]] == ["Simple_RNNs", "LSTMs", "GRUs"]
    for result in report["results"]:
        for kind in ("train_ms", "infer_ms"):
            assert set(result[kind]) >= {"rnnzoo", "torch.nn"} and all(ms > 0 for ms in result[kind].values())
        assert 0 < result["floor_train_ms"] and result["sgemm_gflops"] > 1
        assert "sgemm blas" in result["sgemm_rates"]  # the floor is the fastest engine measured
        assert result["sgemm_gflops"] == max(result["sgemm_rates"].values())
    assert report["fused_calls"]["native"] + report["fused_calls"]["portable"] > 0  # rnnzoo ran fused
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"
    assert "GEMM floor" in printed and "rnnzoo x" in printed


def test_both_torch_contenders_train_with_the_same_fused_adam():
    import torch

    from rnnzoo.bench.benchmark import TorchContender, TorchNN, build_rnnzoo, seed_cases

    case = seed_cases()[0]
    for model in (build_rnnzoo(case), TorchNN(case)):
        optimizer = TorchContender("x", model, case).optimizer
        assert isinstance(optimizer, torch.optim.Adam) and optimizer.defaults["fused"] is True
        assert optimizer.defaults["lr"] == 1e-3
