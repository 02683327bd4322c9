"""A thread done with its own work takes over some of another's (native/sharing.h), forward and
backward (native/recurrent.cpp): split by rows, the later rows of another's share for the steps it
has not started; split by units, the blocks of units another has not started in a step (Claims);
and in the weight gradients (packed_gemm.h's gemm_tn_parallel) the later panels of another's share
for the blocks of depth it has not started. Which thread runs which rows, units or panels then
changes from call to call with the threads' speeds, and the results must not."""

import threading

import pytest
import torch

import rnnzoo


def outputs_and_gradients(layer, x, training: bool) -> list[torch.Tensor]:
    if not training:
        with torch.no_grad():
            return [layer(x)]
    x = x.clone().requires_grad_()
    layer.zero_grad()
    y = layer(x)
    y.square().sum().backward()
    return [y.detach(), x.grad, *(p.grad.clone() for p in layer.parameters())]


def assert_busy_threads_give_the_bits_of_one(results, threads: int) -> None:
    """12 calls of results() on `threads` threads, a third thread busy, must each equal one thread's
    to the bit."""
    previous = torch.get_num_threads()
    stop = threading.Event()

    def busy():  # competes for a core, so that the two threads' speeds differ, and not by the same each call
        while not stop.is_set():
            torch.mm(torch.rand(300, 300), torch.rand(300, 300))

    try:
        torch.set_num_threads(1)
        alone = results()
        torch.set_num_threads(threads)
        other = threading.Thread(target=busy)
        other.start()
        shared = [results() for _ in range(12)]
    finally:
        stop.set()
        torch.set_num_threads(previous)
    for results in shared:
        for got, want in zip(results, alone, strict=True):
            assert torch.equal(got, want)


@pytest.mark.parametrize("kind", [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU])
@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("threads, batch", [(2, 50), (16, 181)])
def test_any_sharing_of_the_rows_gives_the_bits_of_one_thread(native, kernel_settings, kind, training, threads,
                                                              batch):
    """Two shares of 25 rows: 16 kept and 9 given away, a tile and a part. Sixteen threads on 181 rows:
    fifteen shares of 12 rows and one of a single row, whose thread may take 4 rows of another's."""
    kernel_settings(split="rows", gemm="native")  # MKL's gradient products may round by thread count
    torch.manual_seed(0)
    layer = kind(40, return_sequences=True).train(training)
    x = torch.rand(batch, 120, 5)
    assert_busy_threads_give_the_bits_of_one(lambda: outputs_and_gradients(layer, x, training), threads)


@pytest.mark.parametrize("kind", [rnnzoo.SimpleRNN, rnnzoo.LSTM, rnnzoo.GRU])
@pytest.mark.parametrize("training", [False, True])
def test_any_claiming_of_the_blocks_of_units_gives_the_bits_of_one_thread(native, kernel_settings, kind, training):
    """Split by units, two threads deal 200 units out as 7 blocks (32 each, the last 8), and with a
    third thread busy the faster one runs some of the other's at some steps."""
    kernel_settings(split="units", gemm="native")
    torch.manual_seed(0)
    layer = kind(200, return_sequences=True).train(training)
    x = torch.rand(6, 40, 5)
    assert_busy_threads_give_the_bits_of_one(lambda: outputs_and_gradients(layer, x, training), 2)


@pytest.mark.parametrize("depth", [100, 3000])
def test_any_taking_of_the_weight_gradients_panels_gives_the_bits_of_one_thread(native, depth):
    """S^T @ B and B's column sums, depth 3000 (over 10 blocks) or 100 (one block, written straight
    into C), 650 columns (21 panels of 32, the last of 10, or 41 of 16 with AVX2): a thread done with
    its panels takes the later panels of the other's for the blocks of depth that one has not started."""
    generator = torch.Generator().manual_seed(0)
    S, B = torch.randn(depth, 70, generator=generator), torch.randn(depth, 650, generator=generator)
    assert_busy_threads_give_the_bits_of_one(lambda: list(native.matmul_tn(S, B)), 2)
