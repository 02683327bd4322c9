"""Side-by-side speed of recurrent training on the CPU: rnnzoo, torch.nn, Keras, and the GEMM floor.

    from rnnzoo.bench.benchmark import run_benchmark
    report = run_benchmark(json_path="bench.json")      # what `rnnzoo bench` calls

Cases: the notebook's three models (the presets simple_rnn, lstm, gru: relu where the notebook has
relu) at batch 64, T = 28, and a sweep of one-layer models varying batch (16–512), steps (28–784)
and units (64–1024) one at a time. Contenders, timed in interleaved rounds (the order rotates each
round, so machine noise hits all alike; medians over the steps of every round but each
contender's first of the round, run untimed: it meets the caches the others left, and rnnzoo's
first inference packs again the weights that training changed, where a run of many calls sees
neither; the floor's products likewise, each one's first run after a contender untimed):

  rnnzoo     the preset model itself, backend="auto"
  torch.nn   nn.RNN / nn.LSTM / nn.GRU of the same sizes (tanh: torch.nn has no other choice)
  keras      the notebook's exact Keras models on TensorFlow, in a worker process
             (keras_worker.py); skipped with a message when TensorFlow is not installed
  floor      the step's matrix-product FLOPs over the best sgemm rate (a 1024³ product, through
             torch.mm's BLAS, oneDNN and rnnzoo's own packed GEMM, the fastest of them) measured
             in the same rounds: no implementation that does these products on these engines
             can be faster

A training step is forward, cross-entropy, backward and an Adam update (for both torch contenders
torch.optim.Adam(fused=True), torch's fastest Adam on the CPU: its default for-loop one would add
the same overhead to both and blur the layers' difference; Keras' own Adam in train_on_batch).
Inference is one forward pass of the batch without gradients. Peak memory is each contender's
peak RSS growth over its RSS after building the model, measured in a fresh process (Linux: the
peak is reset through /proc/self/clear_refs before inference, and again before training). Process
settings are the same for every contender: the malloc thresholds of process.py (unless
mallopt=False) and the threads each library uses by default (all cores).
"""

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from .. import kernels, process
from ..kernels import build, calibration, settings
from ..kernels.projection import onednn_linear
from . import machine

RECURRENT = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}  # gates per layer type
WORKER = Path(__file__).with_name("keras_worker.py")


@dataclass
class Case:
    name: str
    layers: list  # preset layer dicts: {"type": "LSTM", "units": 256, ...}
    batch: int = 64
    steps: int = 28
    features: int = 28
    classes: int = 10


def seed_cases() -> list[Case]:
    from ..presets import NOTEBOOK_MODELS, load_preset

    cases = []
    for preset in NOTEBOOK_MODELS:
        experiment = load_preset(preset)
        cases.append(Case(experiment.name, [spec.to_dict() for spec in experiment.model.layers]))
    return cases


def sweep_cases(cells=("SimpleRNN", "LSTM", "GRU")) -> list[Case]:
    """One recurrent layer + Dense(10); from B=64, T=28, U=256, vary one size at a time."""
    cases = []
    for cell in cells:
        for batch, steps, units in [(16, 28, 256), (512, 28, 256), (64, 196, 256), (64, 784, 256),
                                    (64, 28, 64), (64, 28, 1024)]:
            layers = [{"type": cell, "units": units}, {"type": "Dense", "units": 10}]
            cases.append(Case(f"{cell} B{batch} T{steps} U{units}", layers, batch, steps))
    return cases


# -- FLOPs of the matrix products ---------------------------------------------------------------
def matmul_flops(case: Case) -> tuple[float, float]:
    """(training step, inference) FLOPs of the matrix products; training = forward + dX + dW."""
    rows = case.batch * case.steps
    features, train, infer = case.features, 0.0, 0.0
    first = True
    for spec in case.layers:
        kind, directions = spec["type"], 1
        if kind == "Bidirectional":
            spec, directions = spec["layer"], 2
            kind = spec["type"]
        if kind in RECURRENT:
            width = RECURRENT[kind] * spec["units"]
            projection = 2.0 * rows * features * width * directions
            recurrent = 2.0 * rows * spec["units"] * width * directions
            infer += projection + recurrent
            train += 3 * (projection + recurrent) - (projection if first else 0.0)  # no dX for the data
            features = spec["units"] * directions
            first = False
        elif kind == "Dense":
            dense = 2.0 * case.batch * features * spec["units"]
            infer += dense
            train += 3 * dense
            features = spec["units"]
    return train, infer


# -- contenders -----------------------------------------------------------------------------------
def build_rnnzoo(case: Case) -> nn.Module:
    import rnnzoo
    from ..layers.registry import LAYER_TYPES

    def layer(spec):
        spec = dict(spec)
        kind = spec.pop("type")
        if "layer" in spec:
            spec["layer"] = layer(spec["layer"])
        return LAYER_TYPES[kind](**spec)

    return rnnzoo.Sequential([rnnzoo.Input(shape=(None, case.features)), *map(layer, case.layers)])


class TorchNN(nn.Module):
    """The same stack with torch.nn's recurrent modules (tanh), batch-first."""

    def __init__(self, case: Case):
        super().__init__()
        self.blocks, self.last_only = nn.ModuleList(), []
        features = case.features
        for spec in case.layers:
            kind, bidirectional = spec["type"], False
            if kind == "Bidirectional":
                spec, bidirectional = spec["layer"], True
                kind = spec["type"]
            if kind in RECURRENT:
                module = getattr(nn, "RNN" if kind == "SimpleRNN" else kind)
                self.blocks.append(module(features, spec["units"], batch_first=True, bidirectional=bidirectional))
                self.last_only.append(not spec.get("return_sequences", False))
                features = spec["units"] * (2 if bidirectional else 1)
            elif kind == "Dropout":
                self.blocks.append(nn.Dropout(spec["rate"]))
                self.last_only.append(False)
            elif kind == "Dense":
                self.blocks.append(nn.Linear(features, spec["units"]))
                self.last_only.append(False)
                features = spec["units"]

    def forward(self, x):
        for block, last_only in zip(self.blocks, self.last_only):
            x = block(x)
            if isinstance(x, tuple):
                x = x[0][:, -1] if last_only else x[0]
        return x


def adam(parameters, lr: float = 1e-3) -> torch.optim.Optimizer:
    """torch.optim.Adam, fused (one kernel over all parameters) where this torch and device have it."""
    parameters = list(parameters)
    try:
        return torch.optim.Adam(parameters, lr=lr, fused=True)
    except (RuntimeError, ValueError):  # fused Adam unsupported here
        return torch.optim.Adam(parameters, lr=lr)


class TorchContender:
    def __init__(self, name: str, model: nn.Module, case: Case):
        self.name, self.model = name, model
        generator = torch.Generator().manual_seed(0)
        self.x = torch.rand(case.batch, case.steps, case.features, generator=generator)
        self.y = torch.randint(0, case.classes, (case.batch,), generator=generator)
        self.optimizer = adam(model.parameters())

    def forward(self) -> torch.Tensor:
        return self.model(self.x)

    def train(self, n: int) -> list[float]:
        self.model.train()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            self.optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(self.forward(), self.y)
            loss.backward()
            self.optimizer.step()
            times.append(time.perf_counter() - start)
        return times

    def infer(self, n: int) -> list[float]:
        self.model.eval()
        times = []
        with torch.no_grad():
            for _ in range(n):
                start = time.perf_counter()
                self.forward()
                times.append(time.perf_counter() - start)
        return times

    def close(self):
        pass


class KerasContender:
    """The Keras worker process, driven line by line (see keras_worker.py)."""

    name = "keras"

    def __init__(self, python: str, case: Case, mallopt: bool):
        self.process = subprocess.Popen([python, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        reply = self._ask(cmd="setup", layers=case.layers, batch=case.batch, steps=case.steps,
                          features=case.features, classes=case.classes, mallopt=mallopt)
        self.versions = f"TensorFlow {reply['tensorflow']}, Keras {reply['keras']}"

    def _ask(self, **command) -> dict:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the Keras worker exited (is TensorFlow importable by that Python?)")
        return json.loads(line)

    def train(self, n):
        return self._ask(cmd="train", n=n)["times"]

    def infer(self, n):
        return self._ask(cmd="infer", n=n)["times"]

    def memory(self) -> dict:
        return self._ask(cmd="memory")

    def close(self):
        self.process.stdin.close()
        self.process.wait(timeout=60)


class Sgemm:
    """A 1024³ float32 product: the machine's matrix-product rate, measured between contenders.

    engine "blas" is torch.mm (MKL in the x86 wheels); "onednn" the oneDNN matmul that torch.nn's
    LSTM uses; "rnnzoo" the packed-panel GEMM of rnnzoo's kernels (native/matmul.cpp). Which is
    fastest depends on the CPU (on AMD CPUs MKL is not), so a floor from torch.mm alone could be
    too low; the floor takes the fastest.
    """

    SIZE = 1024

    def __init__(self, engine: str = "blas"):
        generator = torch.Generator().manual_seed(0)
        self.a = torch.rand(self.SIZE, self.SIZE, generator=generator)
        self.b = torch.rand(self.SIZE, self.SIZE, generator=generator)
        self.out = torch.empty(self.SIZE, self.SIZE)
        self.name = f"sgemm {engine}"
        if engine == "blas":
            self.product = lambda: torch.mm(self.a, self.b, out=self.out)
        elif engine == "onednn":
            bt = self.b.t().contiguous()
            self.product = lambda: onednn_linear()(self.a, bt, None, "none", [], "")
        else:
            self.product = lambda: build.native().matmul(self.a, self.b)

    def run(self, n: int) -> list[float]:
        times = []
        for _ in range(n):
            start = time.perf_counter()
            self.product()
            times.append(time.perf_counter() - start)
        return times

    def gflops(self, seconds: float) -> float:
        return 2 * self.SIZE**3 / seconds / 1e9


def floor_products() -> list[Sgemm]:
    """The 1024³ products the floor is the fastest of: torch.mm, and oneDNN's and rnnzoo's where there are."""
    built = (("onednn", onednn_linear()), ("rnnzoo", build.native()))
    return [Sgemm("blas")] + [Sgemm(name) for name, op in built if op is not None]


def floor_now(products: list[Sgemm], runs: int) -> float:
    """The floor as the machine runs it now, GFLOP/s: the fastest product's median over `runs` runs each,
    after one untimed (bench_case takes each product's median over a whole case instead)."""
    return max(product.gflops(statistics.median(product.run(runs + 1)[1:])) for product in products)


def keras_python(explicit: str | None = None) -> tuple[str | None, str]:
    """(a Python with TensorFlow, or None, and why): --keras-python, $RNNZOO_KERAS_PYTHON, this one."""
    candidates = [explicit, os.environ.get("RNNZOO_KERAS_PYTHON"), sys.executable]
    for python in filter(None, candidates):
        if shutil.which(python) or Path(python).exists():
            check = subprocess.run([python, "-c", "import tensorflow"], capture_output=True,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            if check.returncode == 0:
                return python, ""
    return None, ("Keras skipped: TensorFlow is not installed (pip install 'rnnzoo[bench]', or point "
                  "--keras-python / $RNNZOO_KERAS_PYTHON at a Python that has it)")


# -- memory, in a fresh process per contender -------------------------------------------------
def measure_memory(contender: str, case: Case, mallopt: bool = True, isa: str = "native") -> dict:
    """Peak RSS growth (MB) of inference, then training, over the RSS after setup. Run in a child."""
    if mallopt:
        process.tune_malloc()
    kernels.configure(isa=isa)
    torch.manual_seed(0)
    model = build_rnnzoo(case) if contender == "rnnzoo" else TorchNN(case)
    runner = TorchContender(contender, model, case)
    warm = TorchContender(contender, model, Case(**{**asdict(case), "batch": 1, "steps": 2}))
    warm.infer(1)  # load libraries and kernels, start the thread pools: not the model's memory
    warm.train(1)
    rss0 = _rss_mb()
    _reset_peak()
    runner.infer(2)
    infer = _peak_mb() - rss0
    _reset_peak()
    runner.train(2)
    return {"infer_mb": infer, "train_mb": _peak_mb() - rss0}


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _reset_peak() -> None:
    """Start a new peak: Linux resets VmHWM to the current RSS on "5" > /proc/self/clear_refs."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_in_child(contender: str, case: Case, mallopt: bool) -> dict:
    code = ("import json, sys; from rnnzoo.bench.benchmark import Case, measure_memory; "
            "a = json.loads(sys.argv[1]); "
            "print(json.dumps(measure_memory(a['contender'], Case(**a['case']), a['mallopt'], a['isa'])))")
    argument = json.dumps({"contender": contender, "case": asdict(case), "mallopt": mallopt,
                           "isa": settings.current().isa})
    result = subprocess.run([sys.executable, "-c", code, argument], capture_output=True, text=True)
    if result.returncode != 0:
        return {"infer_mb": None, "train_mb": None}
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the run ------------------------------------------------------------------------------------------
@dataclass
class Result:
    case: str
    batch: int
    steps: int
    train_gflop: float
    infer_gflop: float
    sgemm_gflops: float = 0.0  # the best of sgemm_rates: the floor's rate
    sgemm_rates: dict = field(default_factory=dict)  # engine -> GFLOP/s
    train_ms: dict = field(default_factory=dict)  # contender -> median ms
    infer_ms: dict = field(default_factory=dict)
    memory_mb: dict = field(default_factory=dict)  # contender -> {"train_mb", "infer_mb"}
    plans: dict = field(default_factory=dict)  # "train" / "infer" -> how rnnzoo ran each recurrent layer
    gemms: dict = field(default_factory=dict)  # calibration's shape classes run -> the GEMM (or the split) timed for each

    def floor_ms(self) -> tuple[float, float]:
        rate = self.sgemm_gflops * 1e9
        return self.train_gflop * 1e9 / rate * 1e3, self.infer_gflop * 1e9 / rate * 1e3


def bench_case(case: Case, rounds: int, per_round: int, keras: str | None, mallopt: bool, memory: bool) -> Result:
    train_flops, infer_flops = matmul_flops(case)
    result = Result(case.name, case.batch, case.steps, train_flops / 1e9, infer_flops / 1e9)
    torch.manual_seed(0)
    contenders = [TorchContender("rnnzoo", build_rnnzoo(case), case), TorchContender("torch.nn", TorchNN(case), case)]
    if keras:
        contenders.append(KerasContender(keras, case, mallopt))
    sgemms = floor_products()
    calibration.used(clear=True)
    for contender in contenders:  # warm-up: first calls build kernels, time GEMMs, trace graphs, fault pages in
        contender.infer(2)
        contender.train(2)
    result.gemms = calibration.used(clear=True)
    for sgemm in sgemms:
        sgemm.run(3)
    result.plans = {mode: plans(contenders[0].model, contenders[0].x, mode == "train") for mode in ("train", "infer")}
    train = {c.name: [] for c in contenders}
    infer = {c.name: [] for c in contenders}
    sgemm_times = {s.name: [] for s in sgemms}
    for r in range(rounds):
        order = contenders[r % len(contenders):] + contenders[: r % len(contenders)]
        for contender in order:
            train[contender.name] += contender.train(per_round + 1)[1:]
            for sgemm in sgemms:  # the first run meets the caches the contender left, as its first step does
                sgemm_times[sgemm.name] += sgemm.run(3)[1:]
            infer[contender.name] += contender.infer(per_round + 1)[1:]
    result.sgemm_rates = {s.name: s.gflops(statistics.median(sgemm_times[s.name])) for s in sgemms}
    result.sgemm_gflops = max(result.sgemm_rates.values())
    result.train_ms = {name: statistics.median(t) * 1e3 for name, t in train.items()}
    result.infer_ms = {name: statistics.median(t) * 1e3 for name, t in infer.items()}
    for contender in contenders:
        if memory:
            if isinstance(contender, KerasContender):
                result.memory_mb[contender.name] = contender.memory()
            else:
                result.memory_mb[contender.name] = _memory_in_child(contender.name, case, mallopt)
        contender.close()
    return result


def plans(model: nn.Module, x: torch.Tensor, training: bool) -> list[str]:
    """How each recurrent layer of `model` runs on x, as its `plan` says: route/engine/projection."""
    from ..layers import RNN

    described = []

    def record(layer, args):
        plan = layer.plan(args[0])
        described.append(f"{plan.route}/{plan.engine}/{plan.projection}" if plan.route else f"reference ({plan.reason})")

    hooks = [m.register_forward_pre_hook(record) for m in model.modules() if isinstance(m, RNN)]
    model.train(training)
    try:
        with torch.set_grad_enabled(training):
            model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return described


# The columns of a case's table, after the contender's name.
LEGEND = ("rnnzoo x  the contender's time over rnnzoo's: how many times faster rnnzoo is\n"
          "% floor   the GEMM floor's time over the contender's\n"
          "max x     the contender's time over the floor's: the most that any implementation doing the\n"
          "          step's products could lead it by")


def format_result(result: Result) -> str:
    floor_train, floor_infer = result.floor_ms()
    base_train, base_infer = result.train_ms["rnnzoo"], result.infer_ms["rnnzoo"]
    rates = ", ".join(f"{name} {rate:.0f}" for name, rate in result.sgemm_rates.items())
    columns = f"{'rnnzoo x':>9} {'% floor':>8} {'max x':>7}"
    lines = [f"{result.case}  (batch {result.batch}, T {result.steps}; matmul {result.train_gflop:.2f} GFLOP per "
             f"training step, {result.infer_gflop:.2f} per inference; GFLOP/s: {rates})",
             f"  {'':10} {'train ms':>9} {columns} {'infer ms':>9} {columns} {'peak MB train/infer':>20}"]

    def ratios(ms: float, base: float, floor: float) -> str:
        return f"{ms / base:8.2f}x {100 * floor / ms:7.0f}% {ms / floor:6.2f}x"

    for name in result.train_ms:
        train, infer = result.train_ms[name], result.infer_ms[name]
        memory = result.memory_mb.get(name, {})
        mem = "/".join("-" if memory.get(k) is None else f"{memory[k]:.0f}" for k in ("train_mb", "infer_mb"))
        lines.append(f"  {name:10} {train:9.1f} {ratios(train, base_train, floor_train)} "
                     f"{infer:9.2f} {ratios(infer, base_infer, floor_infer)} {mem:>20}")
    lines.append(f"  {'GEMM floor':10} {floor_train:9.1f} {'':26} {floor_infer:9.2f}")
    if result.plans:
        lines.append("  rnnzoo's layers ran as " + "; ".join(f"{mode}: {', '.join(plans)}"
                                                         for mode, plans in result.plans.items()))
    if result.gemms:
        lines.append("  rnnzoo's timed choices: " + "; ".join(f"{shape} {choice}"
                                                            for shape, choice in result.gemms.items()))
    return "\n".join(lines)


def run_benchmark(json_path=None, png_path=None, sweep: str = "full", rounds: int = 5, per_round: int = 5,
                  keras_python_path: str | None = None, mallopt: bool = True, memory: bool = True,
                  isa: str = "native", recalibrate: bool = False, print_fn=print) -> dict:
    """Run the benchmark, print a table per case, and write JSON (and a PNG) if paths are given.

    sweep: "full" (three cells x six sizes), "lstm" (the LSTM row only) or "none".
    isa: "native", or "avx2" to stand for a CPU without AVX-512: rnnzoo's kernels built for AVX2
    (kernels.configure(isa="avx2")) and torch's own libraries held to AVX2 (machine.AVX2_ONLY), in a
    child process started with them unless this one already was; its lines come through print_fn.
    recalibrate: drop the timed choices (GEMMs, splits) kept with that build first (calibration.forget),
    so that each shape is timed again, on the machine as it is now.
    The tables' columns are explained by LEGEND, printed first.
    """
    if isa == "avx2" and not machine.held_to_avx2():
        return _run_held_to_avx2(dict(json_path=json_path, png_path=png_path, sweep=sweep, rounds=rounds,
                                      per_round=per_round, keras_python_path=keras_python_path, mallopt=mallopt,
                                      memory=memory, isa=isa, recalibrate=recalibrate), print_fn)
    # Every contender on the user's thread count throughout: rnnzoo's default would lower torch's
    # count while something else runs (kernels/threads.py), and torch.nn in this process with it.
    with kernels.configure(threads="all", isa=isa):
        return _run(json_path, png_path, sweep, rounds, per_round, keras_python_path, mallopt, memory, recalibrate,
                    print_fn)


def _run(json_path, png_path, sweep, rounds, per_round, keras_python_path, mallopt, memory, recalibrate,
         print_fn) -> dict:
    if mallopt:
        process.tune_malloc()
    keras, why = keras_python(keras_python_path)
    if not keras:
        print_fn(why)
    native = build.native() is not None  # build (or load) the kernels before any timing
    if recalibrate:
        print_fn(f"rnnzoo: dropped {calibration.forget()} timed choices kept with the build; each shape is timed again")
    print_fn(f"rnnzoo fused kernels: {'native C++' if native else 'pure-PyTorch fallback'}; torch "
             f"{torch.__version__}, {torch.get_num_threads()} threads; mallopt {'on' if mallopt else 'off'}")
    where = machine.describe()
    print_fn(machine.summary(where))
    print_fn(LEGEND)
    cases = seed_cases()
    if sweep != "none":
        cases += sweep_cases(("LSTM",) if sweep == "lstm" else ("SimpleRNN", "LSTM", "GRU"))
    results = []
    for index, case in enumerate(cases):
        seed = index < 3
        # Sweep cases: fewer steps (some take a second each), but at least 3 rounds: with 2, one slow
        # spell of the machine can set a whole case's ratio.
        result = bench_case(case, rounds if seed else max(min(rounds, 3), rounds // 2), per_round if seed else 2,
                            keras if seed else None, mallopt, memory)
        results.append(result)
        print_fn(format_result(result))
    report = {
        "machine": where, "torch": torch.__version__, "threads": torch.get_num_threads(), "mallopt": mallopt,
        "native": native, "keras": keras is not None,
        "results": [{**asdict(r), "floor_train_ms": r.floor_ms()[0], "floor_infer_ms": r.floor_ms()[1]} for r in results],
    }
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2))
        print_fn(f"wrote {json_path}")
    if png_path:
        plot(results, png_path)
        print_fn(f"wrote {png_path}")
    return report


def _run_held_to_avx2(arguments: dict, print_fn) -> dict:
    """run_benchmark(**arguments) in a child process whose torch runs on AVX2 only; its report."""
    code = ("import json, sys; from pathlib import Path; from rnnzoo.bench.benchmark import run_benchmark; "
            "Path(sys.argv[2]).write_text(json.dumps(run_benchmark(**json.loads(sys.argv[1]))))")
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        environment = {**os.environ, **machine.AVX2_ONLY, "PYTHONUNBUFFERED": "1"}  # its lines as they come
        child = subprocess.Popen([sys.executable, "-c", code, json.dumps(arguments), str(report)], env=environment,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in child.stdout:
            print_fn(line.rstrip("\n"))
        if child.wait() != 0:
            raise RuntimeError(f"the benchmark held to AVX2 failed in its own process (exit {child.returncode})")
        return json.loads(report.read_text())


def plot(results: list[Result], path) -> None:
    from matplotlib.figure import Figure  # not pyplot: no display, and a notebook's backend left alone

    seeds, sweep = results[:3], results[3:]
    figure = Figure(figsize=(14 if sweep else 7, 5))
    axes = figure.subplots(1, 2 if sweep else 1, squeeze=False)
    ax = axes[0][0]
    names = list(dict.fromkeys(n for r in seeds for n in r.train_ms))
    width = 0.8 / (len(names) + 1)
    for i, name in enumerate(names + ["GEMM floor"]):
        values = [r.floor_ms()[0] if name == "GEMM floor" else r.train_ms.get(name, 0) for r in seeds]
        ax.bar([j + i * width for j in range(len(seeds))], values, width, label=name)
    ax.set_xticks([j + 0.4 for j in range(len(seeds))], [r.case for r in seeds])
    ax.set_ylabel("ms per training step (batch 64, T 28)")
    ax.set_title("The notebook's models: training step")
    ax.legend()
    if sweep:
        ax = axes[0][1]
        ratios = [r.train_ms["torch.nn"] / r.train_ms["rnnzoo"] for r in sweep]
        floor = [r.floor_ms()[0] / r.train_ms["rnnzoo"] for r in sweep]
        ax.barh(range(len(sweep)), ratios, label="torch.nn time / rnnzoo time")
        ax.plot(floor, range(len(sweep)), "k|", markersize=12, label="rnnzoo: fraction of GEMM floor")
        ax.axvline(1.0, color="grey", linewidth=0.8)
        ax.set_yticks(range(len(sweep)), [r.case for r in sweep], fontsize=7)
        ax.set_title("Sweep: training step")
        ax.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
