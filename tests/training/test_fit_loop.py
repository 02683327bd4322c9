"""fit: Keras' batching, shuffling, metrics and determinism."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnzoo.training import Callback, KerasAdam, StopTraining, fit


class Recorder(Callback):
    def __init__(self):
        self.events = []
        self.batches = []  # (epoch, BatchLog)
        self.epoch = None

    def on_fit_begin(self, epochs, steps):
        self.events.append(("fit_begin", epochs, steps))

    def on_epoch_begin(self, epoch):
        self.epoch = epoch
        self.events.append(("epoch_begin", epoch))

    def on_batch_end(self, step, logs):
        assert step == logs.step
        self.batches.append((self.epoch, logs))

    def on_epoch_end(self, epoch, log):
        self.events.append(("epoch_end", epoch, log.steps))

    def on_fit_end(self, history):
        self.events.append(("fit_end", len(history)))


def train(model, x, y, **kwargs):
    kwargs.setdefault("optimizer", KerasAdam(model.parameters()))
    kwargs.setdefault("verbose", 0)
    return fit(model, x, y, **kwargs)


def test_same_seed_same_weights_and_history(mean_linear, toy_data):
    x, y = toy_data(n=150)
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # same initial weights
        model = mean_linear(3, 3, dropout=0.5)  # dropout: masks must repeat too
        history = train(model, x, y, batch_size=16, epochs=3, seed=7)
        runs.append((model.state_dict(), history))
    (w1, h1), (w2, h2) = runs
    for k in w1:
        assert torch.equal(w1[k], w2[k])
    assert h1.loss == h2.loss and h1.metric("accuracy") == h2.metric("accuracy")


def test_different_seed_different_run(mean_linear, toy_data):
    x, y = toy_data(n=150)
    weights = []
    for seed in (0, 1):
        torch.manual_seed(123)
        model = mean_linear(3, 3)
        train(model, x, y, batch_size=16, epochs=2, seed=seed)
        weights.append(model.linear.weight.detach().clone())
    assert not torch.equal(*weights)


@pytest.mark.parametrize("n, batch_size", [(70, 32), (64, 64), (65, 64), (5, 64)])
def test_steps_per_epoch_and_partial_last_batch(spy, id_data, n, batch_size):
    x, y = id_data(n)
    recorder = Recorder()
    history = train(spy, x, y, batch_size=batch_size, epochs=2, callbacks=[recorder])
    steps = math.ceil(n / batch_size)
    assert [log.steps for log in history.epochs] == [steps, steps]
    assert recorder.events[0] == ("fit_begin", 2, steps)
    sizes = [logs.size for epoch, logs in recorder.batches if epoch == 0]
    assert sizes == [batch_size] * (steps - 1) + [n - batch_size * (steps - 1)]
    # Every sample, the leftovers in the partial batch included, is seen once per epoch.
    for epoch_ids in (spy.ids[:steps], spy.ids[steps:]):
        assert sorted(torch.cat(epoch_ids).tolist()) == list(range(n))


def test_reshuffles_every_epoch(spy, id_data):
    x, y = id_data(40)
    train(spy, x, y, batch_size=8, epochs=3, seed=3)
    orders = [torch.cat(spy.ids[i * 5 : (i + 1) * 5]) for i in range(3)]
    assert not torch.equal(orders[0], orders[1]) and not torch.equal(orders[1], orders[2])
    assert not torch.equal(orders[0], torch.arange(40))


def test_no_shuffle_keeps_order(spy, id_data):
    x, y = id_data(20)
    train(spy, x, y, batch_size=8, epochs=2, shuffle=False)
    assert torch.cat(spy.ids).tolist() == list(range(20)) * 2


def test_epoch_metrics_are_sample_weighted_means(mean_linear, toy_data):
    x, y = toy_data(n=100)
    model = mean_linear(3, 3)
    recorder = Recorder()
    history = train(model, x, y, batch_size=32, epochs=2, callbacks=[recorder])  # sizes 32, 32, 32, 4
    for epoch, log in enumerate(history.epochs):
        logs = [b for e, b in recorder.batches if e == epoch]
        sizes = np.array([b.size for b in logs])
        losses = np.array([b.loss.item() for b in logs])
        correct = np.diff([0] + [b.sums["accuracy"].item() for b in logs])  # each batch's right answers
        assert np.all(correct == np.round(correct)) and np.all(correct <= sizes)
        assert log.loss == pytest.approx(np.sum(sizes * losses) / sizes.sum(), rel=1e-6)
        assert log.metrics["accuracy"] == pytest.approx(correct.sum() / sizes.sum(), rel=1e-12)
        assert log.loss != pytest.approx(losses.mean(), rel=1e-6)  # the unweighted mean differs
        assert logs[-1].mean_loss.item() == pytest.approx(log.loss, rel=1e-6)


def test_batch_loss_is_cross_entropy_before_the_step(spy, id_data):
    x, y = id_data(24)
    recorder = Recorder()
    train(spy, x, y, batch_size=24, epochs=1, shuffle=False, callbacks=[recorder])
    # One batch: recompute its loss with the initial weights (the spy saw them).
    torch.manual_seed(0)
    fresh = type(spy)(features=2, classes=3)
    logits = fresh(torch.as_tensor(x))
    expected = F.cross_entropy(logits, torch.as_tensor(y)).item()
    assert recorder.batches[0][1].loss.item() == pytest.approx(expected, rel=1e-6)


def test_training_learns_a_separable_problem(mean_linear, toy_data):
    x, y = toy_data(n=400)
    torch.manual_seed(0)
    model = mean_linear(3, 3)
    history = train(model, x, y, optimizer=KerasAdam(model.parameters(), learning_rate=0.05),
                    batch_size=32, epochs=8)
    assert history.loss[-1] < 0.25 * history.loss[0]
    assert history.metric("accuracy")[-1] > 0.95


def test_lengths_are_forwarded(spy, id_data):
    x, y = id_data(30)
    lengths = np.arange(30) % 3 + 1
    train(spy, x, y, batch_size=8, epochs=2, lengths=lengths)
    for ids, got in zip(spy.ids, spy.lengths):
        assert torch.equal(got, torch.as_tensor(lengths)[ids])


def test_no_lengths_means_plain_call(spy, id_data):
    x, y = id_data(10)
    train(spy, x, y, batch_size=4, epochs=1)
    assert spy.lengths == [None, None, None]


def test_train_mode_during_fit_and_mode_restored(spy, id_data):
    x, y = id_data(10)
    spy.eval()
    train(spy, x, y, batch_size=4, epochs=1)
    assert all(spy.modes) and all(spy.grad_enabled)
    assert not spy.training


def test_callback_hook_order(spy, id_data):
    x, y = id_data(10)
    recorder = Recorder()
    train(spy, x, y, batch_size=4, epochs=2, callbacks=[recorder])
    assert recorder.events == [
        ("fit_begin", 2, 3),
        ("epoch_begin", 0), ("epoch_end", 0, 3),
        ("epoch_begin", 1), ("epoch_end", 1, 3),
        ("fit_end", 2),
    ]


def test_stop_training_keeps_finished_epochs(spy, id_data):
    class StopAfterTwo(Callback):
        def on_epoch_end(self, epoch, log):
            if epoch == 1:
                raise StopTraining

    x, y = id_data(10)
    recorder = Recorder()
    history = train(spy, x, y, batch_size=4, epochs=5, callbacks=[StopAfterTwo(), recorder])
    assert len(history) == 2
    assert recorder.events[-1] == ("fit_end", 2)


def test_accepts_tensors(mean_linear, toy_data):
    x, y = toy_data(n=20)
    model = mean_linear(3, 3)
    history = train(model, torch.as_tensor(x), torch.as_tensor(y), batch_size=8, epochs=1)
    assert history.epochs[0].steps == 3


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(x=np.zeros((4, 3), np.float32)), "^x: expected"),
        (dict(y=np.zeros(4)), "^y: expected"),
        (dict(y=np.zeros(3, int)), "^y: expected"),
        (dict(lengths=np.ones(3, int)), "^lengths: expected"),
        (dict(batch_size=0), "^batch_size: expected"),
        (dict(epochs=0), "^epochs: expected"),
        (dict(verbose=3), "^verbose: expected"),
    ],
)
def test_rejects_bad_inputs(mean_linear, bad, match):
    model = mean_linear(2, 3)
    args = dict(x=np.zeros((4, 3, 2), np.float32), y=np.zeros(4, int))
    args.update(bad)
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(ValueError, match=match):
        train(model, x, y, **args)
