"""The seam between layers and kernels: a leaf package, one plan per call, one documented knob."""

import ast
from dataclasses import replace
from pathlib import Path

import pytest
import torch

import rnnzoo
from rnnzoo import kernels
from rnnzoo.kernels import settings

KERNELS = Path(kernels.__file__).parent


def imported_packages(path: Path) -> set[str]:
    """The rnnzoo subpackages a kernels module imports (`from .. import x`, `from ..x`, `rnnzoo.x`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level >= 2:
            found |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnnzoo."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("rnnzoo.")}
    return found


def test_the_kernels_import_no_layer_data_training_or_lab():
    """A leaf: the layers describe their cells to the kernels, never the other way round."""
    imports = {path.name: imported_packages(path) for path in KERNELS.rglob("*.py")}
    assert imports["build.py"] == {"paths"}  # it does look outside: for the cache folder
    assert {name: found & {"layers", "data", "training", "lab"} for name, found in imports.items()} == {
        name: set() for name in imports}


@pytest.mark.parametrize("layer", [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU])
def test_a_cell_describes_itself_with_its_own_parameters(layer):
    cell = layer(8, input_dim=3, activation="relu").cell
    spec = cell.describe()
    assert spec.kind == cell.fused_kind and spec.name == type(cell).__name__
    assert spec.kernel is cell.kernel and spec.recurrent_kernel is cell.recurrent_kernel
    assert spec.activation is torch.relu and spec.activation_code == kernels.ACTIVATION_CODES["relu"]
    if layer is rnnzoo.GRU:  # views of the (2, 3U) bias: row 0 for the input, row 1 for the recurrence
        assert torch.equal(spec.input_bias, cell.bias[0]) and torch.equal(spec.recurrent_bias, cell.bias[1])
        assert spec.input_bias._base is cell.bias and spec.recurrent_bias._base is cell.bias
    else:
        assert spec.input_bias is cell.bias and spec.recurrent_bias is None
    gated = layer is not rnnzoo.SimpleRNN
    assert (spec.recurrent_activation is torch.sigmoid) == gated and (spec.recurrent_activation_code == 2) == gated


def test_the_plan_names_route_engine_projection_and_chunks(native_kernels):
    layer = rnnzoo.LSTM(16, input_dim=3)
    x = torch.randn(4, 50, 3)
    train = layer.plan(x)  # its parameters need gradients
    assert (train.route, train.projection, train.backward, train.chunk_steps) == ("kernels", "in_loop", True, None)
    with torch.no_grad():
        infer = layer.plan(x.double())
    assert (infer.projection, infer.backward) == ("hoisted", False)
    assert infer.chunk_steps == kernels.route.CHUNK_BYTES // (4 * 64 * 8)  # batch · G·U float64 a step
    with kernels.configure(projection="hoisted"):
        assert layer.plan(x).projection == "hoisted"


def test_no_fused_route_comes_with_its_reason():
    layer = rnnzoo.GRU(4, input_dim=3)
    plan = layer.plan(torch.randn(2, 3, 3, dtype=torch.float16))
    assert plan.route is None and plan.reason == "the fused kernels need float32 or float64, got torch.float16"
    forced = rnnzoo.GRU(4, input_dim=3, backend="fused").half()
    with pytest.raises(ValueError, match="backend='fused' cannot run this layer: the fused kernels need float32"):
        forced(torch.randn(2, 3, 3, dtype=torch.float16))
    assert rnnzoo.GRU(4, input_dim=3, backend="reference").plan(torch.randn(2, 3, 3)).route is None


def test_running_a_plan_without_a_route_says_why():
    layer = rnnzoo.LSTM(4, input_dim=3, backend="reference")
    x = torch.randn(2, 3, 3)
    plan = layer.plan(x)
    with pytest.raises(ValueError, match="no fused route to run: backend='reference'"):
        kernels.run(plan, layer.cell.describe(), x, layer.cell.initial_state(2, x), None, True)


def test_configure_sets_now_and_restores_after_a_with_block():
    before = settings.current()
    with kernels.configure(split="units", native=False) as inside:
        assert inside == replace(before, native=False, split="units")
        with kernels.configure(projection="hoisted"):
            assert settings.current().projection == "hoisted" and settings.current().split == "units"
        assert settings.current().projection == "auto"
    assert settings.current() == before
    try:
        kernels.configure(split="rows")
        assert settings.current().split == "rows"
    finally:
        kernels.configure(split=before.split)


@pytest.mark.parametrize("changes, error, message", [
    (dict(workers=2), TypeError, "unknown setting 'workers'"),
    (dict(threads=2), ValueError, "threads must be one of"),
    (dict(split="columns"), ValueError, r"split must be one of \('auto', 'rows', 'units'\), got 'columns'"),
    (dict(projection="inside"), ValueError, "projection must be one of"),
    (dict(native="no"), TypeError, "native must be True or False"),
])
def test_configure_refuses_what_it_does_not_know(changes, error, message):
    before = settings.current()
    with pytest.raises(error, match=message):
        kernels.configure(**changes)
    assert settings.current() == before
