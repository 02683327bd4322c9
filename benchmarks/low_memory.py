"""Low-memory training against the default: peak memory and step time of one LSTM at a long T.

    python benchmarks/low_memory.py [--units 256] [--steps 784] [--batch 64] [--json out.json]

Each setting of `rnnzoo.kernels.configure(memory=...)` trains in its own child process (so that
peaks don't mix): LSTM(units) on (batch, steps, 28) inputs → Dense(10), cross-entropy, Keras' Adam,
two warm-up steps and then five timed ones, with the malloc settings
of `rnnzoo train` (`rnnzoo.process.tune_malloc()`). Prints the peak resident memory (ru_maxrss) of each
child, the memory autograd kept for one step's backward pass, the median step time, and the ratios
low / full. Time it on an otherwise idle machine.
"""

import argparse
import json
import subprocess
import sys

CHILD = """
import json, resource, statistics, sys, time, torch, rnnzoo, rnnzoo.process
units, steps, batch, memory = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rnnzoo.process.tune_malloc()  # as `rnnzoo train` and `rnnzoo bench` run: freed activations stay for the next step
rnnzoo.kernels.configure(memory=memory)
torch.manual_seed(0)
model = rnnzoo.Sequential([rnnzoo.Input(shape=(None, 28)), rnnzoo.LSTM(units), rnnzoo.Dense(10)])
optimizer = rnnzoo.KerasAdam(model.parameters())
x, y = torch.rand(batch, steps, 28), torch.randint(0, 10, (batch,))
kept = [0]
def pack(t):
    kept[0] += t.numel() * t.element_size()
    return t
def step(measure=False):
    optimizer.zero_grad(set_to_none=True)
    if measure:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = torch.nn.functional.cross_entropy(model(x), y)
    else:
        loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
step(measure=True)
step()
times = []
for _ in range(5):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
plan = model.layers[0].plan(x.requires_grad_())
print(json.dumps({"memory": memory, "segment_steps": plan.segment_steps, "step_ms": statistics.median(times) * 1e3,
                  "kept_mb": kept[0] / 2**20,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--steps", type=int, default=784)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    from rnnzoo.lab.environment import cpu_name

    rows = {}
    for memory in ("full", "low"):
        out = subprocess.run([sys.executable, "-c", CHILD, str(args.units), str(args.steps), str(args.batch), memory],
                             capture_output=True, text=True, check=True).stdout
        rows[memory] = json.loads(out.strip().splitlines()[-1])
    full, low = rows["full"], rows["low"]
    print(f"LSTM({args.units}) → Dense(10), batch {args.batch}, T {args.steps}, 28 features; {cpu_name()}")
    print(f"{'memory':8} {'segments':>9} {'kept for backward MB':>21} {'peak RSS MB':>12} {'step ms':>9}")
    for row in rows.values():
        print(f"{row['memory']:8} {str(row['segment_steps'] or '-'):>9} {row['kept_mb']:21.0f} "
              f"{row['peak_rss_mb']:12.0f} {row['step_ms']:9.0f}")
    print(f"low / full: kept {low['kept_mb'] / full['kept_mb']:.2f}x, peak RSS {low['peak_rss_mb'] / full['peak_rss_mb']:.2f}x, "
          f"step time {low['step_ms'] / full['step_ms']:.2f}x")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"cpu": cpu_name(), "units": args.units, "steps": args.steps, "batch": args.batch, **rows}, out,
                      indent=2)


if __name__ == "__main__":
    main()
