"""Checkpoints: exact resume, atomic writes, damaged folders skipped, NaN stops, Ctrl-C saves."""

import json
import os
import signal

import pytest
import torch
from torch import nn

from rnnzoo.training import (Callback, Checkpointer, KerasAdam, NumericalError, StopTraining,
                             TrainingInterrupted, checkpoint, fit)


class RNNish(nn.Module):
    """Small, with dropout (so RNG state matters) and a GRU (so it's a real recurrent model)."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 8, batch_first=True)
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        return self.out(self.drop(self.gru(x)[0][:, -1]))


def fresh():
    torch.manual_seed(11)
    model = RNNish()
    return model, KerasAdam(model.parameters(), decay=1e-3)


class StopAt(Callback):
    def __init__(self, epoch, step, action):
        self.at, self.action = (epoch, step), action

    def on_batch_end(self, step, logs):
        if (self.loop.epoch, self.loop.step) == self.at:
            self.action()


def run(x, y, **kwargs):
    model, optimizer = fresh()
    history = fit(model, x, y, optimizer=optimizer, batch_size=16, epochs=3, seed=5, verbose=0, **kwargs)
    return model, optimizer, history


def resume(directory, x, y):
    model, optimizer = fresh()
    path, meta = checkpoint.latest(directory)
    state = checkpoint.restore(path, meta, model, optimizer)
    history = fit(model, x, y, optimizer=optimizer, batch_size=16, epochs=3, seed=5, verbose=0, resume=state)
    return model, history, path


def assert_same(model_a, model_b, history_a, history_b):
    for (k, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(a, b), k
    assert history_a.loss == history_b.loss and history_a.metric("accuracy") == history_b.metric("accuracy")


@pytest.mark.parametrize("stop", [(1, 3), (0, 1), (2, 0)])
def test_resume_mid_epoch_is_bit_identical(toy_data, tmp_path, stop):
    x, y = toy_data(n=150)
    reference_model, _, reference_history = run(x, y)

    def halt():
        raise StopTraining

    epoch, step = stop
    saver = Checkpointer(tmp_path, every_steps=1, every_minutes=None)
    run(x, y, callbacks=[saver, StopAt(epoch, step, halt)] if step else [saver, StopAt(epoch - 1, 10, halt)])
    model, history, path = resume(tmp_path, x, y)
    assert_same(reference_model, model, reference_history, history)


def test_keeps_only_the_newest_two(toy_data, tmp_path):
    x, y = toy_data(n=64)
    run(x, y, callbacks=[Checkpointer(tmp_path, every_steps=1, every_minutes=None)])
    assert [p.name for p in checkpoint.checkpoints(tmp_path)] == ["ckpt-003-000000", "ckpt-002-000004"]


def test_damaged_checkpoint_is_skipped_for_the_previous(toy_data, tmp_path):
    x, y = toy_data(n=64)
    run(x, y, callbacks=[Checkpointer(tmp_path, every_steps=1, every_minutes=None)])
    newest, older = checkpoint.checkpoints(tmp_path)
    with open(newest / "model.safetensors", "r+b") as f:
        f.seek(-3, os.SEEK_END)
        f.write(b"\x00\x01\x02")
    messages = []
    path, _ = checkpoint.latest(tmp_path, log=messages.append)
    assert path == older
    assert "model.safetensors is missing or damaged" in messages[0]


def test_crash_between_write_and_rename_keeps_previous(toy_data, tmp_path, monkeypatch):
    x, y = toy_data(n=64)
    saver = Checkpointer(tmp_path, every_steps=2, every_minutes=None)
    real_replace = os.replace

    class Killed(BaseException):
        pass

    def die_on_second_save(src, dst):
        if "ckpt-000-000004" in str(dst):
            raise Killed  # the process "dies" after writing the folder, before renaming it
        real_replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", die_on_second_save)
    with pytest.raises(Killed):
        run(x, y, callbacks=[saver])
    monkeypatch.setattr(checkpoint.os, "replace", real_replace)
    path, meta = checkpoint.latest(tmp_path)
    assert path.name == "ckpt-000-000002" and meta["step"] == 2
    model, optimizer = fresh()
    checkpoint.restore(path, meta, model, optimizer)  # loads cleanly
    assert (tmp_path / ".ckpt-000-000004.tmp").exists()  # the half-finished one is never picked up
    reference_model, _, reference_history = run(x, y)
    model, history, _ = resume(tmp_path, x, y)
    assert_same(reference_model, model, reference_history, history)


def test_ctrl_c_saves_at_a_step_boundary_and_resumes_exactly(toy_data, tmp_path):
    x, y = toy_data(n=150)
    reference_model, _, reference_history = run(x, y)
    saver = Checkpointer(tmp_path, every_steps=None, every_minutes=None)
    before = signal.getsignal(signal.SIGINT)  # Python's default, or SIG_IGN in a background job
    with pytest.raises(TrainingInterrupted, match=r"interrupted at epoch 2, step 4; state saved in .*ckpt-001-000004"):
        run(x, y, callbacks=[saver, StopAt(1, 3, lambda: os.kill(os.getpid(), signal.SIGINT))])
    assert signal.getsignal(signal.SIGINT) is before  # handler restored
    model, history, path = resume(tmp_path, x, y)
    assert path.name == "ckpt-001-000004"
    assert_same(reference_model, model, reference_history, history)


class BlowsUp(RNNish):
    """Outputs NaN for any batch holding a marked sample, as a diverging model would."""

    def forward(self, x):
        logits = super().forward(x)
        return logits * float("nan") if (x == 1e20).any() else logits


def test_nan_loss_stops_before_the_update(toy_data):
    x, y = toy_data(n=64)
    x[40, 0, 0] = 1e20
    torch.manual_seed(0)
    model = BlowsUp()
    optimizer = KerasAdam(model.parameters())
    before = {}

    class Remember(Callback):
        def on_batch_end(self, step, logs):
            before.update({k: v.clone() for k, v in model.state_dict().items()})

    with pytest.raises(NumericalError, match=r"the loss is nan at epoch 1, step 3; .*learning_rate.*clipnorm"):
        fit(model, x, y, optimizer=optimizer, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[Remember()])
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]) and torch.isfinite(v).all()


def test_a_non_finite_gradient_under_a_finite_loss_stops_before_the_update(toy_data):
    x, y = toy_data(n=64)
    model, optimizer = fresh()
    calls = []
    model.out.weight.register_hook(lambda g: (calls.append(1), g if len(calls) < 3 else g * float("nan"))[1])
    with pytest.raises(NumericalError, match=r"a gradient is not finite at epoch 1, step 3"):
        fit(model, x, y, optimizer=optimizer, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert all(torch.isfinite(v).all() for v in model.state_dict().values())


def test_huge_finite_gradients_whose_sum_overflows_do_not_stop(toy_data):
    """The check sums each gradient first; an Inf sum of finite values is confirmed, not reported."""
    x, y = toy_data(n=16)  # one step (the next would start from weights Adam made NaN: g * g is Inf)
    model, optimizer = fresh()
    model.out.weight.register_hook(lambda g: torch.full_like(g, 3e38))  # finite; the sum is Inf
    history = fit(model, x, y, optimizer=optimizer, batch_size=16, epochs=1, verbose=0)
    assert len(history) == 1 and history.epochs[0].steps == 1


def test_non_finite_inputs_are_refused_up_front(toy_data):
    x, y = toy_data(n=64)
    x[7, 1, 2] = float("inf")
    model, optimizer = fresh()
    with pytest.raises(ValueError, match="x: expected finite values, got NaN or Inf in sample 7"):
        fit(model, x, y, optimizer=optimizer, verbose=0)


def test_checkpoint_holds_no_pickle(toy_data, tmp_path):
    x, y = toy_data(n=32)
    run(x, y, callbacks=[Checkpointer(tmp_path, every_minutes=None)])
    path = checkpoint.checkpoints(tmp_path)[0]
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.safetensors", "state.safetensors"]
    json.loads((path / "meta.json").read_text())
