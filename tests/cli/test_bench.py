"""`rnnzoo bench` end to end at its smallest: every contender timed, the floor measured, files written."""

import json

import pytest
import torch

from rnnzoo import kernels
from rnnzoo.bench import machine
from rnnzoo.cli.main import main
from rnnzoo.kernels import build, calibration


def test_bench_smallest_run(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RNNZOO_KERAS_PYTHON", raising=False)
    out = tmp_path / "bench.json"
    kept_file = tmp_path / "calibration.json"
    kept_file.write_text(json.dumps({"weight_grad rows<=2048 depth=28 width=256": "blas",
                                     "input_grad rows<=8 depth=1 width=1": "native"}))
    monkeypatch.setattr(calibration, "_path", lambda: kept_file)
    monkeypatch.setitem(calibration._state, "path", None)  # read afresh, as by a new process
    args = ["bench", "--sweep", "none", "--rounds", "1", "--no-memory", "--json", str(out), "--recalibrate"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    # --recalibrate: the choices kept before were dropped, and what the run used was timed anew
    assert "rnnzoo: dropped 2 timed choices kept with the build; each shape is timed again" in printed
    kept = json.loads(kept_file.read_text()) if build.native() is not None else {}
    assert "input_grad rows<=8 depth=1 width=1" not in kept
    assert all(kept[shape] == engine for result in report["results"] for shape, engine in result["gemms"].items())
    assert [r["case"] for r in report["results"]] == ["Simple_RNNs", "LSTMs", "GRUs"]
    for result in report["results"]:
        for kind in ("train_ms", "infer_ms"):
            assert set(result[kind]) >= {"rnnzoo", "torch.nn"} and all(ms > 0 for ms in result[kind].values())
        assert 0 < result["floor_train_ms"] and result["sgemm_gflops"] > 1
        assert "sgemm blas" in result["sgemm_rates"]  # the floor is the fastest engine measured
        assert result["sgemm_gflops"] == max(result["sgemm_rates"].values())
    ran = "kernels/native/in_loop" if build.native() is not None else "kernels/portable/hoisted"
    for result in report["results"]:  # each recurrent layer's plan, in training and at inference
        assert result["plans"] == {"train": [ran] * 2, "infer": [ran] * 2}
    assert f"rnnzoo's layers ran as train: {ran}, {ran}; infer: {ran}, {ran}" in printed
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"
    assert "GEMM floor" in printed and "rnnzoo x" in printed
    where = report["machine"]  # the CPU, its ISA and the products chosen, printed and kept
    assert where["isa"] in ("AVX-512", "AVX2", "SSE", "unknown") and where["cpus"] >= 1
    assert where["kernels"]["native"] == (build.native() is not None)
    assert f"machine: {where['cpu']}" in printed and where["isa"] in printed


def test_the_machine_is_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
                       "model name\t: Intel(R) Xeon(R) Platinum 8488C\nflags\t\t: fpu sse avx2 fma avx512f\n\n"
                       "processor\t: 1\nmodel name\t: something else\n")
    where = machine.describe(cpuinfo)
    assert (where["cpu"], where["vendor"], where["family"], where["model"]) == \
        ("Intel(R) Xeon(R) Platinum 8488C", "GenuineIntel", 6, 143)
    assert where["isa"] == "AVX-512"
    if where["kernels"]["native"]:
        assert where["kernels"]["recurrence"] == "rnnzoo micro-kernel AVX-512 8x32"
    assert machine.widest_isa({"avx2", "fma", "sse"}) == "AVX2" and machine.widest_isa(set()) == "unknown"


def test_table_shows_how_far_each_contender_could_be_led_at_the_floor():
    from rnnzoo.bench.benchmark import Result, format_result

    # 2 GFLOP at 100 GFLOP/s: a floor of 20 ms (training) and 5 ms (inference)
    result = Result("case", 64, 28, train_gflop=2.0, infer_gflop=0.5, sgemm_gflops=100.0,
                    sgemm_rates={"blas": 100.0}, train_ms={"rnnzoo": 25.0, "keras": 40.0},
                    infer_ms={"rnnzoo": 8.0, "keras": 6.0})
    rows = {line.split()[0]: line.split()[1:] for line in format_result(result).splitlines()[2:]}
    # keras: 1.60x rnnzoo's time, the floor is 50 % of it, and no implementation can lead it by more than 2x
    assert rows["keras"][:4] == ["40.0", "1.60x", "50%", "2.00x"]
    assert rows["keras"][4:8] == ["6.00", "0.75x", "83%", "1.20x"]
    assert rows["rnnzoo"][:4] == ["25.0", "1.00x", "80%", "1.25x"]
    assert rows["GEMM"][1:] == ["20.0", "5.00"]


def test_each_contenders_first_step_of_a_round_is_not_timed(monkeypatch):
    """It meets the caches the others left (and rnnzoo's inference packs again the weights that
    training changed): the steady state of many calls is what is timed."""
    from dataclasses import asdict

    from rnnzoo.bench import benchmark

    def steps(contender, n):  # every call's first step takes a second, the others a millisecond
        return [1.0] + [0.001] * (n - 1)

    monkeypatch.setattr(benchmark.TorchContender, "train", steps)
    monkeypatch.setattr(benchmark.TorchContender, "infer", steps)
    monkeypatch.setattr(benchmark.Sgemm, "run", lambda sgemm, n: [0.01] * n)
    case = benchmark.Case(**{**asdict(benchmark.seed_cases()[0]), "batch": 2, "steps": 3})
    result = benchmark.bench_case(case, rounds=2, per_round=2, keras=None, mallopt=True, memory=False)
    assert result.train_ms == result.infer_ms == {"rnnzoo": 1.0, "torch.nn": 1.0}


def test_each_floor_products_first_run_after_a_contender_is_not_timed(monkeypatch):
    """On a Granite Rapids, MKL's 1024³ product ran 5 % slower right after a model's steps than on
    the runs after it: timed, that first run would lower the floor and raise every "% of floor"."""
    from dataclasses import asdict

    from rnnzoo.bench import benchmark

    monkeypatch.setattr(benchmark.TorchContender, "train", lambda contender, n: [0.001] * n)
    monkeypatch.setattr(benchmark.TorchContender, "infer", lambda contender, n: [0.001] * n)
    monkeypatch.setattr(benchmark.Sgemm, "run", lambda sgemm, n: [1.0] + [0.01] * (n - 1))
    case = benchmark.Case(**{**asdict(benchmark.seed_cases()[0]), "batch": 2, "steps": 3})
    result = benchmark.bench_case(case, rounds=2, per_round=2, keras=None, mallopt=True, memory=False)
    assert result.sgemm_gflops == pytest.approx(benchmark.Sgemm().gflops(0.01))
    assert benchmark.floor_now(benchmark.floor_products(), 3) == pytest.approx(benchmark.Sgemm().gflops(0.01))


def test_both_torch_contenders_train_with_the_same_fused_adam():
    import torch

    from rnnzoo.bench.benchmark import TorchContender, TorchNN, build_rnnzoo, seed_cases

    case = seed_cases()[0]
    for model in (build_rnnzoo(case), TorchNN(case)):
        optimizer = TorchContender("x", model, case).optimizer
        assert isinstance(optimizer, torch.optim.Adam) and optimizer.defaults["fused"] is True
        assert optimizer.defaults["lr"] == 1e-3


def test_side_by_side_times_each_training_alone_and_two_at_once(monkeypatch, capsys):
    """`rnnzoo bench --side-by-side` at its smallest: real worker processes, every row and ratio printed."""
    from rnnzoo.bench import side_by_side

    real = side_by_side.run_side_by_side
    monkeypatch.setattr(side_by_side, "run_side_by_side", lambda: real(warmup=1, steps=2))
    assert main(["bench", "--side-by-side"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[2:6]]
    assert [(r[0], r[1]) for r in rows] == [("rnnzoo", "default"), ("torch.nn", "default"), ("rnnzoo", "1"),
                                            ("torch.nn", "1")]
    for row in rows:  # alone, each of two, pair/alone = the slower of the two over alone
        alone, pair = float(row[2]), [float(row[3]), float(row[4])]
        assert alone > 0 and min(pair) > 0 and float(row[5].rstrip("x")) == pytest.approx(max(pair) / alone, rel=0.02)
    assert lines[6].startswith("threads default: rnnzoo's pair/alone over torch.nn's")


def test_side_by_side_table_ratios():
    from rnnzoo.bench.side_by_side import format_table

    rows = [{"contender": "rnnzoo", "threads": 1, "alone_ms": 10.0, "pair_ms": [19.0, 21.0], "pair_over_alone": 2.1},
            {"contender": "torch.nn", "threads": 1, "alone_ms": 20.0, "pair_ms": [60.0, 50.0], "pair_over_alone": 3.0}]
    table = format_table(rows, "gru")
    assert "rnnzoo's pair/alone over torch.nn's 0.70; rnnzoo's step in a pair over torch.nn's 0.35" in table


def test_bench_masks_times_masked_and_stateful_batches_on_the_fused_path(tmp_path, monkeypatch, capsys):
    from rnnzoo.bench import masks

    calls = []
    monkeypatch.setattr(masks, "run_masks_bench", lambda **kwargs: calls.append(kwargs))
    assert main(["bench", "--masks", "--rounds", "2", "--json", "m.json"]) == 0  # the CLI hands on its flags
    assert calls == [{"json_path": "m.json", "rounds": 2}]
    monkeypatch.undo()

    out = tmp_path / "masks.json"
    masks.run_masks_bench(json_path=out, rounds=1, per_round=1, kinds=("SimpleRNN", "GRU"))
    report = json.loads(out.read_text())
    rows = report["rows"]
    assert report["machine"]["cpus"] >= 1 and report["torch"] == torch.__version__  # which machine, as bench's JSON
    assert [r["variant"] for r in rows[:6]] == ["unmasked", "end-padded", "left-padded", "holes", "stateful",
                                                "holes, ref"]
    assert len(rows) == 12 and all(r["train_ms"] > 0 and r["infer_ms"] > 0 for r in rows)
    for r in rows:  # every variant but the reference one really ran fused
        assert r["route"].startswith("kernels/") == (r["variant"] != "holes, ref"), r
    printed = capsys.readouterr().out
    assert "ratio to unmasked" in printed and printed.startswith("machine: ")


def test_bench_masks_leaves_each_variants_first_step_of_a_round_untimed(monkeypatch):
    from rnnzoo.bench import masks

    def steps(contender, n):  # every call's first step takes a second, the others a millisecond
        return [1.0] + [0.001] * (n - 1)

    monkeypatch.setattr(masks.Variant, "train", steps)
    monkeypatch.setattr(masks.Variant, "infer", steps)
    rows = masks.bench_kind("SimpleRNN", rounds=2, per_round=2)
    assert len(rows) == 6 and all(r["train_ms"] == r["infer_ms"] == 1.0 for r in rows)


def test_kernels_forced_to_avx2_are_said_to_be_on_an_avx512_cpu(tmp_path, monkeypatch):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("vendor_id\t: GenuineIntel\nmodel name\t: Xeon\nflags\t\t: avx2 fma avx512f\n")
    monkeypatch.setitem(build._state, "avx2", build.native())  # as if built: this test compiles nothing
    with kernels.configure(isa="avx2"):
        where = machine.describe(cpuinfo)
    assert where["isa"] == "AVX-512" and where["kernels"]["isa"] == "AVX2"
    if where["kernels"]["native"]:
        assert where["kernels"]["recurrence"] == "rnnzoo micro-kernel AVX2 6x16"
        assert "AVX2 6x16" in machine.summary(where)


def test_without_the_native_kernels_the_machine_line_names_the_one_gemm_used():
    with kernels.configure(native=False):
        line = machine.summary(machine.describe())
    assert "fastest per shape" not in line and ("on oneDNN" in line or "on torch.mm (BLAS)" in line)


def test_a_benchmark_held_to_avx2_runs_torch_on_avx2_in_a_process_of_its_own(tmp_path):
    """The stand-in for a CPU without AVX-512 holds torch's libraries to AVX2 too, not only rnnzoo's
    kernels: the child reports it, and its lines and report come back. (Run with isa="native" here,
    so that the test builds no second set of kernels; run_benchmark(isa="avx2") passes "avx2".)"""
    from rnnzoo.bench import benchmark

    lines = []
    report = benchmark._run_held_to_avx2(
        dict(json_path=None, png_path=None, sweep="none", rounds=1, per_round=1, keras_python_path=None,
             mallopt=True, memory=False, isa="native", recalibrate=False), lines.append)
    where = report["machine"]
    assert where["held_to_avx2"] and where["torch_isa"] in ("AVX2", "DEFAULT")  # DEFAULT: a CPU below AVX2
    assert [r["case"] for r in report["results"]] == ["Simple_RNNs", "LSTMs", "GRUs"]
    assert any(line.startswith("machine: ") and "MKL and oneDNN held to AVX2" in line for line in lines)
    assert not machine.held_to_avx2()  # this process was left as it was


def test_run_benchmark_for_avx2_starts_a_process_held_to_avx2_unless_it_is_one(monkeypatch):
    from rnnzoo.bench import benchmark

    calls = []
    monkeypatch.setattr(benchmark, "_run_held_to_avx2", lambda arguments, print_fn: calls.append(arguments) or {})
    benchmark.run_benchmark(isa="avx2", sweep="none")
    assert len(calls) == 1 and calls[0]["isa"] == "avx2" and calls[0]["sweep"] == "none"
    assert machine.held_to_avx2(dict(machine.AVX2_ONLY)) and not machine.held_to_avx2({})
