"""Two builds of the native kernels against each other, in one process, taking turns: what a change
to the kernels did, timed so that the machine's slow and fast spells fall on both alike.

    python benchmarks/ab_builds.py OLD.so [--cases Simple_RNNs,LSTMs,GRUs] [--shapes 64:28,2:1]
                                   [--modes train,infer] [--rounds 11] [--isa avx2] [--json FILE]

OLD.so is another build's library: an earlier one kept in the build cache
(`ls -t ~/.cache/rnnzoo/build/*/rnnzoo_recurrent.so`, newest first) or one copied aside before a
change. The other is this tree's, built as usual (`--isa avx2`: both builds held to AVX2, OLD.so
then being an `rnnzoo_recurrent_avx2.so`). The Python side is this tree's for both, so
OLD.so must take the same arguments. OLD.so is loaded under a module name of its own (Python keeps
extension modules by name: loaded as `rnnzoo_recurrent` it would be this build again, and every
ratio 1), and both builds run with this build's calibration choices, so that only the kernels
differ.

Each case (the notebook's models, or the sweep's one-layer cases of `rnnzoo bench` by name, such as
"LSTM B64 T28 U1024"), at its own batch and steps or at each batch:steps given, runs a few steps
with one build, then with the other, the order alternating from round to round. Printed per case
and mode: each build's median ms, and the median over rounds of the old build's time over this
one's (above 1: this build is faster) with the rounds' range; first, whether the two give the same
outputs and gradients bit for bit.
"""

import argparse
import importlib.util
import json
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

import torch
from torch import nn

from rnnzoo.bench.benchmark import Case, TorchContender, build_rnnzoo, seed_cases, sweep_cases
from rnnzoo.kernels import build, calibration, settings
from rnnzoo.process import tune_malloc


def load_other(path: str):
    """The library at `path` as a module of its own, named as this ISA's build is (its init function's)."""
    spec = importlib.util.spec_from_file_location(f"ab_other.{build.module_name()}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def use(module, model: nn.Module) -> None:
    """Runs the kernels of `module` from now on. Each build packs the weights it keeps between
    inference calls its own way (a change may have changed the packing), so the kept ones go: each
    cell drops its record, and with it the panels, as it does when its weights change."""
    build._state[settings.current().isa] = module
    for layer in model.modules():
        layer.__dict__.pop("_record", None)


def same_bits(contender: TorchContender, builds: dict) -> bool:
    """Whether both builds give the model's outputs and parameter gradients bit for bit."""
    results = []
    for module in builds.values():
        use(module, contender.model)
        contender.model.zero_grad(set_to_none=True)
        torch.manual_seed(0)  # the same dropout masks
        out = contender.forward()
        nn.functional.cross_entropy(out, contender.y).backward()
        results.append([out.detach()] + [p.grad.clone() for p in contender.model.parameters() if p.grad is not None])
    return all(torch.equal(a, b) for a, b in zip(*results))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", metavar="OLD.so", help="the other build's library")
    parser.add_argument("--cases", default="Simple_RNNs,LSTMs,GRUs",
                        help="the notebook's models or the sweep's cases to run (default: the notebook's)")
    parser.add_argument("--shapes", help="batch:steps, comma-separated (default: each case's own)")
    parser.add_argument("--modes", default="train,infer", help="train, infer or both")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--isa", choices=("native", "avx2"), default="native",
                        help="the instructions both builds are for (avx2: to stand for an AVX2 CPU)")
    parser.add_argument("--json", metavar="FILE", help="write the results here as well")
    args = parser.parse_args(argv)
    tune_malloc()
    settings.configure(isa=args.isa)
    if not Path(args.other).is_file():
        sys.exit(f"ab_builds: no library at {args.other} (expected another build's {build.module_name()}.so)")
    if Path(args.other).resolve() == (build.build_dir() / f"{build.module_name()}.so").resolve():
        sys.exit(f"ab_builds: {args.other} is this tree's build (expected another one)")
    try:
        other = load_other(args.other)
    except ImportError:
        sys.exit(f"ab_builds: {args.other} is not a build of the kernels for isa={args.isa} (expected another "
                 f"build's {build.module_name()}.so)")
    this = build.native()
    if this is None:
        sys.exit("ab_builds: this tree's native kernels could not be built")
    if other is this:
        sys.exit(f"ab_builds: {args.other} was loaded as this tree's build (a module name of its own needed)")
    chosen = calibration._path()  # this build's calibration file, for both builds
    calibration._path = lambda: chosen
    builds = {"old": other, "new": this}
    cases = {case.name: case for case in seed_cases() + sweep_cases()}
    if unknown := [name for name in args.cases.split(",") if name not in cases]:
        sys.exit(f"ab_builds: no case {unknown[0]!r} (expected some of {', '.join(cases)})")
    results = []
    given = args.shapes and [tuple(int(v) for v in shape.split(":")) for shape in args.shapes.split(",")]
    for name in args.cases.split(","):
        own = cases[name]
        for batch, steps in given or [(own.batch, own.steps)]:
            case = Case(**{**asdict(own), "batch": batch, "steps": steps})
            torch.manual_seed(0)
            contender = TorchContender("rnnzoo", build_rnnzoo(case), case)
            bits = same_bits(contender, builds)
            shaped, own_shape = f"B{batch} T{steps}", f"B{own.batch} T{own.steps}"
            # a sweep case's name holds its own shape: the shape run takes its place
            label = name.replace(own_shape, shaped) if own_shape in name else f"{name} {shaped}"
            print(f"{label}: {'the same bits' if bits else 'the bits differ'}", flush=True)
            per = max(3, min(20, round(4 * 64 * 28 / (batch * steps))))  # 4 steps at the notebook's shape
            for mode in args.modes.split(","):
                run = contender.train if mode == "train" else contender.infer
                for module in builds.values():  # warm: first calls pack, fault pages in, time new shapes
                    use(module, contender.model)
                    run(2)
                times = {"old": [], "new": []}
                for r in range(args.rounds):
                    for key in ("old", "new") if r % 2 == 0 else ("new", "old"):
                        use(builds[key], contender.model)
                        times[key].append(statistics.median(run(per)))
                ratios = [old / new for old, new in zip(times["old"], times["new"])]
                row = {"case": name, "batch": batch, "steps": steps, "mode": mode, "same_bits": bits,
                       "old_ms": 1e3 * statistics.median(times["old"]), "new_ms": 1e3 * statistics.median(times["new"]),
                       "old_over_new": statistics.median(ratios), "rounds": [min(ratios), max(ratios)]}
                results.append(row)
                print(f"  {mode:5s} old {row['old_ms']:8.3f} ms  new {row['new_ms']:8.3f} ms  old/new "
                      f"{row['old_over_new']:.3f} ({min(ratios):.3f}-{max(ratios):.3f})", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"other": args.other, "this": this.__file__, "rounds": args.rounds, "results": results}, f,
                      indent=1)


if __name__ == "__main__":
    main()
