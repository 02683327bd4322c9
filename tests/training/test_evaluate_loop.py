"""evaluate: Keras' loss/accuracy over the whole set, in eval mode without grad."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnzoo.training import evaluate


@pytest.mark.parametrize("batch_size", [7, 64, 1000])
def test_matches_manual_computation(mean_linear, toy_data, batch_size):
    x, y = toy_data(n=101)
    torch.manual_seed(0)
    model = mean_linear(3, 3)
    result = evaluate(model, x, y, batch_size=batch_size, verbose=0)
    with torch.no_grad():
        logits = model(torch.as_tensor(x))
    labels = torch.as_tensor(y)
    assert result["loss"] == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-5)
    assert result["accuracy"] == pytest.approx((logits.argmax(1) == labels).double().mean().item(), abs=1e-12)
    assert set(result) == {"loss", "accuracy"}


def test_eval_mode_no_grad_in_order_and_mode_restored(spy, id_data):
    x, y = id_data(20)
    spy.train()
    before = {k: v.clone() for k, v in spy.state_dict().items()}
    evaluate(spy, x, y, batch_size=8, verbose=0)
    assert spy.modes == [False] * 3 and spy.grad_enabled == [False] * 3
    assert torch.cat(spy.ids).tolist() == list(range(20))
    assert spy.training
    assert all(torch.equal(before[k], v) for k, v in spy.state_dict().items())


def test_dropout_is_off(mean_linear, toy_data):
    x, y = toy_data(n=50)
    model = mean_linear(3, 3, dropout=0.9)
    first = evaluate(model, x, y, verbose=0)
    second = evaluate(model, x, y, verbose=0)
    assert first == second


def test_lengths_are_forwarded(spy, id_data):
    x, y = id_data(20)
    lengths = np.arange(20) % 3 + 1
    evaluate(spy, x, y, batch_size=8, lengths=lengths, verbose=0)
    assert torch.equal(torch.cat(spy.lengths), torch.as_tensor(lengths))
