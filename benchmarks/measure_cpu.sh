#!/usr/bin/env bash
# Every measurement docs/performance.md keeps for one CPU, in the order that page reads them, into
# benchmarks/results/ under a tag naming the CPU (e.g. zen3, spr, emr):
#
#     bash benchmarks/measure_cpu.sh TAG [DRIFT_MINUTES] [FOLDER]
#
# The kernels' own tests first (a CPU the kernels were not tuned on is where a tile's edge case
# would show), then three runs of the notebook's models, one held to AVX2 on a CPU with AVX-512
# (to stand for AVX2 CPUs), a full run with memory, low-memory training, and for each model in
# training and at inference step_parts.py (where a step's time goes) and drift.py (DRIFT_MINUTES
# each, default 5); into FOLDER if given. Last, cpu_summary.py puts it all side by side against the
# targets (summary_TAG.md). About 30 minutes at the default. Run it on an otherwise idle machine,
# with the environment's python and rnnzoo on PATH. A step that fails stops the script; the files
# written before it stay.
set -euo pipefail

fail() { echo "measure_cpu.sh: $*" >&2; exit 2; }
(($# >= 1 && $# <= 3)) || fail "expected TAG [DRIFT_MINUTES] [FOLDER], got $# arguments"
tag=$1
minutes=${2:-5}
[[ $tag =~ ^[A-Za-z0-9_]+$ ]] || fail "TAG names the CPU in letters, digits or _, got '$tag'"
[[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]] || fail "DRIFT_MINUTES must be a number >= 0, got '$minutes'"
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${3:-$here/results}" && cd "${3:-$here/results}" && pwd)
cd "$here/.."

step() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

step "the kernels' tests"
python -m pytest tests/kernels -q -p no:cacheprovider

for run in "" _2 _3; do
  step "the notebook's models$run"
  rnnzoo bench --sweep none --no-memory --json "$out/bench_notebook_models_$tag$run.json" \
    | tee "$out/bench_notebook_models_$tag$run.txt"
done

if [[ $(python -c 'from rnnzoo.bench import machine; print(machine.describe()["isa"])') == AVX-512 ]]; then
  step "the notebook's models, held to AVX2"
  rnnzoo bench --sweep none --no-memory --isa avx2 --json "$out/bench_notebook_models_${tag}_avx2.json" \
    | tee "$out/bench_notebook_models_${tag}_avx2.txt"
fi

step "the full run, with memory"
rnnzoo bench --json "$out/bench_$tag.json" | tee "$out/bench_$tag.txt"

step "low-memory training"
python benchmarks/low_memory.py --json "$out/low_memory_$tag.json" | tee "$out/low_memory_$tag.txt"

for model in Simple_RNNs LSTMs GRUs; do
  name=$(tr '[:upper:]' '[:lower:]' <<< "${model%s}")
  for mode in train infer; do
    suffix=$([[ $mode == infer ]] && echo _infer || true)
    step "step parts: $model, $mode"
    python benchmarks/step_parts.py --model "$model" --mode "$mode" \
      --json "$out/step_parts_${tag}_$name$suffix.json" | tee "$out/step_parts_${tag}_$name$suffix.txt"
    step "drift: $model, $mode, $minutes minutes"
    python benchmarks/drift.py --model "$model" --mode "$mode" --minutes "$minutes" \
      --json "$out/drift_${tag}_$name$suffix.json" | tee "$out/drift_${tag}_$name$suffix.txt"
  done
done
step "summary"
python benchmarks/cpu_summary.py "$tag" --folder "$out" | tee "$out/summary_$tag.md"
step "done: $out/*_$tag*"
