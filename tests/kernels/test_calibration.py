"""Which GEMM runs the projection's products: the fastest per shape, timed once and kept with the build."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from rnnzoo.kernels import calibration, projection


@pytest.fixture
def folder(calibration_folder):
    return calibration_folder


def runners(delays: dict, calls: list):
    def runner(name):
        def run(rows):
            calls.append((name, rows))
            if delays[name]:
                time.sleep(delays[name])
        return run
    return {name: runner(name) for name in delays}


def rounds_in_turns(calls: list, engines: list) -> int:
    """The timed rounds in `calls`: after one call each to warm up, the engines in turns, round by round."""
    names = [name for name, _ in calls]
    rounds = len(names) // len(engines) - 1
    assert names == engines * (1 + rounds)
    return rounds


def test_the_fastest_engine_is_chosen_and_kept_in_the_build_folder(folder, capsys):
    calls = []
    chosen = calibration.choose("input_grad", 1792, 256, 1024, runners({"native": 0.004, "blas": 0.0}, calls))
    assert chosen == "blas"
    rounds = rounds_in_turns(calls, ["native", "blas"])  # until the runs add up to BUDGET_S, 4 ms a round
    assert calibration.MIN_ROUNDS <= rounds <= calibration.BUDGET_S / 0.004 + 1
    assert {rows for _, rows in calls} == {1792}
    kept = json.loads((folder / "calibration.json").read_text())
    assert kept == {"input_grad rows<=2048 depth=256 width=1024": "blas"}
    assert "timing the GEMMs" in capsys.readouterr().err


@pytest.mark.parametrize("native_slower", [0.01, 0.2])
def test_the_native_gemm_is_kept_unless_another_is_faster_by_more_than_the_margin(folder, native_slower):
    """On rnnzoo's GEMM a layer's gradient products run inside its backward's one native call, which
    timing a product alone does not see: a near tie goes to it."""
    delays = {"native": 0.010 * (1 + native_slower), "blas": 0.010}
    assert calibration.NATIVE_MARGIN < 0.2
    chosen = calibration.choose("recurrent_grad", 1792, 256, 1024, runners(delays, []))
    assert chosen == ("native" if native_slower < calibration.NATIVE_MARGIN else "blas")


def test_a_few_lucky_runs_do_not_decide(folder):
    """Two engines close in speed on a noisy machine: BLAS typically slower, but now and then a run
    half as long. Each engine's best run would choose BLAS; its median run keeps rnnzoo's GEMM."""
    calls = []
    blas_runs = iter([0.003] + [0.0015, 0.003, 0.003, 0.003] * 50)  # the first, to warm up

    def run_blas(rows):
        calls.append(("blas", rows))
        time.sleep(next(blas_runs))

    def run_native(rows):
        calls.append(("native", rows))
        time.sleep(0.0025)

    chosen = calibration.choose("input_grad", 1792, 384, 256, {"native": run_native, "blas": run_blas})
    assert rounds_in_turns(calls, ["native", "blas"]) >= calibration.MIN_ROUNDS
    assert chosen == "native"


def test_a_quick_product_is_timed_over_more_rounds(folder):
    calls = []
    calibration.choose("weight_grad", 2, 256, 256, runners({"native": 0.0, "blas": 0.0}, calls))
    assert rounds_in_turns(calls, ["native", "blas"]) > calibration.MIN_ROUNDS  # three of microseconds: noise


def test_a_known_shape_class_is_not_timed_again_even_in_another_process(folder):
    calls = []
    calibration.choose("input_grad", 1792, 256, 1024, runners({"native": 0.0, "blas": 0.004}, calls))
    calibration._state["path"] = None  # as a new process: calibration.json read afresh
    calibration._chosen.clear()
    calibration._answers.clear()
    calls.clear()
    # rows 1100 fall in the same class (up to 2048); the timings would now say blas
    assert calibration.choose("input_grad", 1100, 256, 1024, runners({"native": 0.004, "blas": 0.0}, calls)) == "native"
    assert calls == []
    assert calibration.used() == {"input_grad rows<=2048 depth=256 width=1024": "native"}


def test_a_class_another_process_timed_since_this_one_read_the_file_is_taken_not_timed(folder):
    calls = []
    calibration.choose("input_grad", 64, 28, 256, runners({"native": 0.0, "blas": 0.004}, calls))  # file read
    other = {"input_grad rows<=256 depth=28 width=256": "native", "weight_grad rows<=2048 depth=28 width=256": "blas"}
    (folder / "calibration.json").write_text(json.dumps(other))  # another process, meanwhile
    calls.clear()
    assert calibration.choose("weight_grad", 1792, 28, 256, runners({"native": 0.0, "blas": 0.004}, calls)) == "blas"
    assert calls == []


CONTENDER = textwrap.dedent("""
    import pathlib, sys, time, types
    from rnnzoo.kernels import build, calibration
    build.native = lambda: types.SimpleNamespace(__file__=sys.argv[1])  # a build folder, as a loaded build has
    favourite, start = sys.argv[2], pathlib.Path(sys.argv[3])  # what this process's timings say; when to go
    def runner(name):
        return lambda rows: time.sleep(0.0 if name == favourite else 0.1)
    (start.parent / f"ready-{favourite}-{time.monotonic_ns()}").touch()
    while not start.exists():
        time.sleep(0.001)
    print(calibration.choose("weight_grad", 1792, 256, 1024, {name: runner(name) for name in ("native", "blas")}))
""")


def test_processes_starting_at_once_agree_on_one_engine_kept_where_the_environment_says(tmp_path):
    build_folder = tmp_path / "build" / "recurrent-abc"
    kept = tmp_path / "kept"
    environment = {**os.environ, "RNNZOO_CALIBRATION_DIR": str(kept)}
    start = tmp_path / "start"
    contenders = [subprocess.Popen([sys.executable, "-c", CONTENDER, str(build_folder / "module.so"), favourite,
                                    str(start)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                   env=environment) for favourite in ("native", "blas")]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < len(contenders) and time.monotonic() < deadline:
        time.sleep(0.01)
    start.touch()  # both time the same class at once
    answers = {contender.communicate(timeout=60)[0].strip() for contender in contenders}
    assert len(answers) == 1 and answers <= {"native", "blas"}  # whoever timed first decided for all
    assert json.loads((kept / "recurrent-abc.json").read_text()) == {"weight_grad rows<=2048 depth=256 width=1024":
                                                                    answers.pop()}
    assert not build_folder.exists()  # nothing written beside the build


def test_forget_drops_every_choice_and_the_next_call_times_again(folder):
    calls = []
    calibration.choose("input_grad", 1792, 256, 1024, runners({"native": 0.0, "blas": 0.004}, calls))
    calibration.choose("weight_grad", 1792, 256, 1024, runners({"native": 0.0, "blas": 0.004}, calls))
    assert calibration.forget() == 2
    assert not (folder / "calibration.json").exists() and calibration.chosen() == {} and calibration.used() == {}
    assert calibration.forget() == 0  # nothing left: no error
    calls.clear()
    assert calibration.choose("input_grad", 1792, 256, 1024, runners({"native": 0.004, "blas": 0.0}, calls)) == "blas"
    assert calibration.MIN_ROUNDS <= rounds_in_turns(calls, ["native", "blas"]) <= calibration.BUDGET_S / 0.004 + 1
    assert json.loads((folder / "calibration.json").read_text()) == {"input_grad rows<=2048 depth=256 width=1024": "blas"}


def test_large_products_are_timed_on_their_first_rows_and_classes_are_separate(folder):
    calls = []
    calibration.choose("weight_grad", 50_000, 28, 1024, runners({"native": 0.0, "blas": 0.0}, calls))
    assert {rows for _, rows in calls} == {calibration.CALIBRATION_ROWS}
    calibration.choose("input_grad", 50_000, 1024, 28, runners({"native": 0.0, "blas": 0.0}, calls))
    assert sorted(calibration.chosen()) == ["input_grad rows<=65536 depth=1024 width=28",
                                            "weight_grad rows<=65536 depth=28 width=1024"]


def test_an_unreadable_calibration_file_is_timed_again_and_rewritten(folder):
    (folder / "calibration.json").write_text("{not json")
    calls = []
    assert calibration.choose("input_grad", 64, 28, 256, runners({"native": 0.0, "blas": 0.004}, calls)) == "native"
    assert json.loads((folder / "calibration.json").read_text()) == {"input_grad rows<=256 depth=28 width=256": "native"}
    assert not list(folder.glob(".calibration-*"))  # no temporary file left behind


def test_a_named_engine_runs_where_it_can_and_is_not_timed(folder, native, kernel_settings):
    x, weight = torch.randn(300, 20), torch.randn(12, 20)
    kernel_settings(gemm="blas")
    torch.testing.assert_close(projection.matmul_t(x, weight), x @ weight.t())
    kernel_settings(gemm="onednn")  # oneDNN doesn't make the weight gradient: that one is timed
    projection.weight_gradient(x, torch.randn(300, 12))
    assert list(calibration.chosen()) == ["weight_grad rows<=512 depth=20 width=12"]


def test_auto_times_each_real_gradient_product_once(folder, native, kernel_settings):
    kernel_settings(gemm="auto")
    torch.manual_seed(0)
    x = torch.randn(8, 30, 16, requires_grad=True)
    kernel = torch.randn(16, 24, requires_grad=True)
    bias = torch.randn(24, requires_grad=True)
    y = projection.project(x, kernel, bias)
    y.backward(torch.ones_like(y))
    # the gradients only: a hoisted forward stays on the native GEMM, as the in-loop projection
    assert sorted(calibration.chosen()) == ["input_grad rows<=256 depth=24 width=16",
                                            "weight_grad rows<=256 depth=16 width=24"]
    assert set(calibration.chosen().values()) <= {"native", "onednn", "blas"}
    torch.testing.assert_close(y, x @ kernel + bias)
    torch.testing.assert_close(kernel.grad, x.reshape(-1, 16).t() @ torch.ones(240, 24))
