"""At inference the native kernels keep a layer's weights packed between calls (fused.py lends each
call a buffer kept with the cell's record). Kept panels must give the bits of a fresh packing, and
any change of the weights or of the layout must be seen."""

import copy
import threading

import pytest
import torch

import rnnzoo
from rnnzoo.kernels import route

LAYERS = [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU]


def built(layer_type, units=40, features=7, **options):
    torch.manual_seed(0)
    layer = layer_type(units, return_sequences=True, **options).eval()
    with torch.no_grad():
        layer(torch.rand(2, 3, features))
    return layer


def fresh(layer, x):
    """What a copy of the layer, whose first call packs its weights anew, outputs."""
    with torch.no_grad():
        return copy.deepcopy(layer)(x)


def kept(layer):
    """The buffers kept with the record the layer's calls under no_grad use."""
    with torch.no_grad():
        return layer.cell.describe().kept_panels


@pytest.mark.parametrize("layer_type", LAYERS)
def test_kept_panels_give_the_bits_of_a_fresh_packing(native, layer_type):
    layer = built(layer_type)
    x = torch.rand(9, 11, 7)
    with torch.no_grad():
        first, second, third = layer(x), layer(x), layer(x[:5])
    assert len(kept(layer)) == 1  # one buffer, lent to each call in turn
    assert torch.equal(first, second) and torch.equal(first, fresh(layer, x))
    assert torch.equal(third, fresh(layer, x[:5]))


@pytest.mark.parametrize("layer_type", LAYERS)
def test_train_and_eval_keep_the_packed_weights(native, layer_type):
    # train() and eval() set `training` on every module: a loop that switches modes every batch
    # (validation after each) must not pack its weights again at every switch
    layer = built(layer_type)
    buffer = kept(layer)[0]
    layer.train().eval()
    assert kept(layer) == [buffer]
    x = torch.rand(9, 11, 7)
    with torch.no_grad():
        assert torch.equal(layer(x), fresh(layer, x))


@pytest.mark.parametrize("layer_type", LAYERS)
@pytest.mark.parametrize("units, batch", [(64, 2), (64, 8), (256, 2), (64, 20)])
@pytest.mark.parametrize("start", ["zero", "given"])
@pytest.mark.parametrize("steps", [1, 3])
def test_trained_steps_read_the_weights_in_place_with_the_bits_of_packed_ones(native, layer_type, units, batch,
                                                                              start, steps):
    """A few steps in training keep no packing, and where every block of the split is one tile of
    rows their products read W and U where they lie (recurrent.cpp, forward_impl; packed_gemm.h,
    gemm_in_place): the same bits as an inference call's packed panels. 256 units: the LSTM's and the
    GRU's split by units; batch 20: one block of 20 rows, packed on both sides."""
    layer = built(layer_type, units=units)
    x = torch.rand(batch, steps, 7)
    state = None if start == "zero" else [torch.rand(batch, units) for _ in range(layer.cell.state_count)]
    with torch.no_grad():
        inferred = layer(x, initial_state=state)
    trained = layer.train()(x, initial_state=state)
    assert trained.requires_grad  # the training route, whose forward saves for the backward pass
    assert torch.equal(trained, inferred)


@pytest.mark.parametrize("layer_type", LAYERS)
def test_weights_changed_in_place_are_packed_again(native, layer_type):
    layer = built(layer_type)
    x = torch.rand(9, 11, 7)
    with torch.no_grad():
        before = layer(x)
        layer.cell.recurrent_kernel.mul_(0.5)
        after_recurrent = layer(x)
        layer.cell.kernel.add_(0.1)
        after_kernel = layer(x)
    assert not torch.equal(before, after_recurrent) and not torch.equal(after_recurrent, after_kernel)
    assert torch.equal(after_kernel, fresh(layer, x))


def test_an_optimizer_step_and_loaded_weights_are_seen(native):
    layer = built(rnnzoo.LSTM)
    x = torch.rand(9, 11, 7)
    with torch.no_grad():
        layer(x)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)
    layer.train()
    layer(x).square().sum().backward()
    optimizer.step()
    layer.eval()
    with torch.no_grad():
        stepped = layer(x)
    assert torch.equal(stepped, fresh(layer, x))
    other = built(rnnzoo.LSTM)
    with torch.no_grad():
        other.cell.kernel.normal_()
    layer.load_state_dict(other.state_dict())
    with torch.no_grad():
        assert torch.equal(layer(x), other(x))


def test_weights_swapped_through_data_are_seen(native):
    layer = built(rnnzoo.GRU)
    x = torch.rand(4, 6, 7)
    with torch.no_grad():
        layer(x)
        layer.cell.recurrent_kernel.data = torch.rand_like(layer.cell.recurrent_kernel)
        assert torch.equal(layer(x), fresh(layer, x))


def test_a_new_layout_packs_again(native, kernel_settings):
    layer = built(rnnzoo.LSTM, units=64)
    x = torch.rand(12, 5, 7)
    with torch.no_grad():
        by_rows = layer(x)
        with kernel_settings(split="units"):  # other blocks of units: other panels
            by_units = layer(x)
        again = layer(x)
    assert torch.equal(by_rows, by_units) and torch.equal(by_rows, again)


def test_inference_mode_then_no_grad(native):
    layer = built(rnnzoo.SimpleRNN)
    x = torch.rand(4, 6, 7)
    with torch.inference_mode():
        first = layer(x)
    with torch.no_grad():
        layer.cell.kernel.mul_(2)
        assert torch.equal(layer(x), fresh(layer, x)) and not torch.equal(layer(x), first)


def test_no_buffer_kept_for_a_copy_of_the_weights(native):
    layer = built(rnnzoo.SimpleRNN)
    layer.cell.recurrent_kernel = torch.nn.Parameter(torch.rand(40, 40).t())  # not contiguous: copied per call
    x = torch.rand(4, 6, 7)
    with torch.no_grad():
        layer(x)
        assert kept(layer) == [] and torch.equal(layer(x), fresh(layer, x))


def test_chunks_of_a_hoisted_inference_share_one_buffer(native, kernel_settings, monkeypatch):
    monkeypatch.setattr(route, "CHUNK_BYTES", 1)  # chunks of MIN_CHUNK_STEPS steps
    layer = built(rnnzoo.LSTM)
    x = torch.rand(3, 3 * route.MIN_CHUNK_STEPS + 5, 7)
    with kernel_settings(projection="hoisted"), torch.no_grad():
        assert layer.plan(x).chunk_steps == route.MIN_CHUNK_STEPS
        y = layer(x)
        assert len(kept(layer)) == 1 and torch.equal(y, fresh(layer, x))


def test_calls_from_several_threads_never_share_a_buffer(native):
    layer = built(rnnzoo.LSTM)
    x = torch.rand(8, 20, 7)
    expected = fresh(layer, x)
    failures = []

    def call():
        for _ in range(10):
            with torch.no_grad():
                if not torch.equal(layer(x), expected):
                    failures.append(1)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and 1 <= len(kept(layer)) <= 3


def test_a_float64_layer_keeps_nothing(native):
    layer = built(rnnzoo.LSTM).double()  # float64 runs on torch's BLAS: nothing packed to keep
    with torch.no_grad():
        layer(torch.rand(4, 5, 7, dtype=torch.float64))
    assert kept(layer) == []
