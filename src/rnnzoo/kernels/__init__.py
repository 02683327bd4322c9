"""The fast paths behind the recurrent layers: a leaf package that knows no layer.

A cell describes itself as a `CellSpec` (its kind, activations and weights); `plan` decides once
per call which route runs it, or why none does; `run` runs the plan and returns tensors. The
layers (`layers/rnn.py`) call nothing else, as Keras' layers call `backend.lstm(...)` and
torch's `nn.LSTM` calls `_VF.lstm`.

    cell.py          the record a cell hands over (CellSpec, Kind, the activation codes)
    route.py         plan() and run(): the routes, their conditions, the engine and projection
    fused.py         the "kernels" route: one autograd node per layer, hand-written BPTT
    library.py       the "library" route: PyTorch's own fused ops (cuDNN)
    native/          the C++ kernels, built once by build.py and cached under the user cache
    portable.py      the same contract as native/ in pure PyTorch: any activation, no compiler
    projection.py    x W + b over all steps on the fastest GEMM at hand, and its gradients
    calibration.py   which GEMM is fastest for each projection shape here: timed once, kept with the build
    scan.py          h_t = a_t h_{t-1} + b_t as one node (minGRU, minLSTM): native on the CPU
    dropout.py       the Dropout layer's counter-based mask (native, or the same in tensor ops)
    settings.py      configure(): the one knob (engine, split, projection, memory, GEMM, ISA, threads)
    threads.py       how many threads to compute on when other work shares the machine
"""

from .cell import ACTIVATION_CODES, CellSpec, Kind
from .route import Plan, plan, run
from .scan import linear_scan
from .settings import Settings, configure

__all__ = ["ACTIVATION_CODES", "CellSpec", "Kind", "Plan", "Settings", "configure", "linear_scan", "plan", "run"]
