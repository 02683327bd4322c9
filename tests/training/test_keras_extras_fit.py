"""fit with Keras' extras: regularization losses added to the loss, constraints applied after every
step, and stateful models trained on streams (in order, state reset per pass, resumed exactly)."""

import pytest
import torch

import rnnzoo
from rnnzoo.layers import regularizers
from rnnzoo.training import Callback, Checkpointer, KerasAdam, StopTraining, checkpoint, evaluate, fit

B, T, F = 4, 5, 3


def data(n=16, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, T, F, generator=generator)
    return x, (x.sum((1, 2)) > 0).long()


def model(**options):
    torch.manual_seed(3)
    return rnnzoo.Sequential([rnnzoo.Input((None, F)), rnnzoo.LSTM(6, **options), rnnzoo.Dense(2)])


def test_fit_adds_the_regularization_loss():
    x, y = data()
    plain, regularized = model(), model(kernel_regularizer="l2", activity_regularizer="l1")
    plain_loss = fit(plain, x, y, optimizer=torch.optim.SGD(plain.parameters(), lr=0.0), batch_size=16,
                     epochs=1, verbose=0).loss[0]
    extra = fit(regularized, x, y, optimizer=torch.optim.SGD(regularized.parameters(), lr=0.0), batch_size=16,
                epochs=1, verbose=0).loss[0]
    regularized.train()
    regularized(x)  # the same batch again (lr=0 left the weights alone): its activity loss is fresh
    assert extra == pytest.approx(plain_loss + float(regularizers.regularization_loss(regularized).detach()), rel=1e-5)
    assert len(regularized.losses) == 2 and len(plain.losses) == 0


def test_evaluate_adds_the_regularization_loss_as_keras_does():
    x, y = data()
    plain, regularized = model(), model(kernel_regularizer="l2", activity_regularizer="l1")
    plain_loss = evaluate(plain, x, y, batch_size=16, verbose=0)["loss"]
    loss = evaluate(regularized, x, y, batch_size=16, verbose=0)["loss"]
    regularized.eval()
    with torch.no_grad():
        regularized(x)  # the same batch, in eval mode: its activity loss
        penalty = float(regularizers.regularization_loss(regularized))
    assert penalty > 0.01 and loss == pytest.approx(plain_loss + penalty, rel=1e-5)


def test_fit_applies_constraints_after_every_step():
    x, y = data()
    m = model(kernel_constraint=rnnzoo.layers.constraints.MaxNorm(0.3), bias_constraint="non_neg")
    norms = []

    class Norms(Callback):
        def on_batch_end(self, step, logs):
            norms.append(float(self.model.layers[0].cell.kernel.detach().norm(dim=0).max()))

    fit(m, x, y, optimizer=KerasAdam(m.parameters(), learning_rate=0.1), batch_size=4, epochs=2, verbose=0,
        callbacks=[Norms()])
    assert len(norms) == 8 and max(norms) <= 0.3 + 1e-6
    assert float(m.layers[0].cell.bias.detach().min()) >= 0.0


def test_stateful_fit_reads_batches_in_order_and_resets_each_epoch():
    x, y = data()
    m = model(stateful=True)
    seen, orders = [], []

    class Spy(Callback):
        def on_batch_end(self, step, logs):
            seen.append((self.loop.epoch, self.model.layers[0].state_0.abs().sum().item()))
            orders.append(self.loop.order.clone())

    history = fit(m, x, y, optimizer=KerasAdam(m.parameters()), batch_size=B, epochs=2, verbose=0, shuffle=True,
                  callbacks=[Spy()])
    assert len(history.loss) == 2 and all(total > 0 for _, total in seen)  # the state is carried
    assert float(m.layers[0].state_0.abs().sum()) == 0.0  # and reset when the epoch ends
    # in order, never shuffled: every epoch's order is 0..N-1 even with shuffle=True
    assert len(orders) == 8 and all(torch.equal(order, torch.arange(len(x))) for order in orders)


def test_stateful_fit_refuses_a_partial_last_batch():
    x, y = data(n=10)
    m = model(stateful=True)
    with pytest.raises(ValueError, match="10 examples are not a multiple of batch_size 4"):
        fit(m, x, y, optimizer=KerasAdam(m.parameters()), batch_size=4, epochs=1, verbose=0)


def test_stateful_evaluate_is_one_pass_from_zero_states_in_full_batches():
    x, y = data()
    m = model(stateful=True)
    fresh = evaluate(m, x, y, batch_size=B, verbose=0)
    m(torch.randn(B, T, F))  # a kept state left by some other call
    assert float(m.layers[0].state_0.abs().sum()) > 0
    assert evaluate(m, x, y, batch_size=B, verbose=0) == fresh  # starts from zeros, as fit's epochs
    assert float(m.layers[0].state_0.abs().sum()) == 0.0  # and ends there
    with pytest.raises(ValueError, match=f"{len(x)} examples are not a multiple of batch_size 3"):
        evaluate(m, x, y, batch_size=3, verbose=0)  # refused before any batch runs


def test_stateful_batches_continue_each_other():
    """Training on a stream in pieces equals the kept state of one call on the whole stream."""
    torch.manual_seed(0)
    layer = rnnzoo.LSTM(4, stateful=True, return_sequences=True, input_dim=F)
    whole = rnnzoo.LSTM(4, return_sequences=True, input_dim=F)
    whole.load_state_dict({k: v for k, v in layer.state_dict().items() if not k.startswith("state_")})
    x = torch.randn(B, 3 * T, F)
    pieces = torch.cat([layer(piece) for piece in x.split(T, dim=1)], dim=1)
    torch.testing.assert_close(pieces, whole(x))
    with pytest.raises(ValueError, match="stateful with batch size 4 .* got a batch of 2"):
        layer(x[:2])


class StopAt(Callback):
    def __init__(self, epoch, step):
        self.at = (epoch, step)

    def on_batch_end(self, step, logs):
        if (self.loop.epoch, self.loop.step) == self.at:
            raise StopTraining


@pytest.mark.parametrize("stop", [(0, 2), (1, 1)])
def test_stateful_resume_from_a_checkpoint_is_bit_identical(tmp_path, stop):
    x, y = data()

    def run(**kwargs):
        m = model(stateful=True, dropout=0.2)
        optimizer = KerasAdam(m.parameters())
        resume = None
        if "directory" in kwargs:
            path, meta = checkpoint.latest(kwargs.pop("directory"))
            resume = checkpoint.restore(path, meta, m, optimizer)
            assert m.layers[0].state_0.abs().sum() > 0  # the kept state came back with the weights
        history = fit(m, x, y, optimizer=optimizer, batch_size=B, epochs=2, seed=5, verbose=0, resume=resume,
                      **kwargs)
        return m, history

    reference, reference_history = run()
    run(callbacks=[Checkpointer(tmp_path, every_steps=1, every_minutes=None), StopAt(*stop)])
    resumed, history = run(directory=tmp_path)
    for (k, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert reference_history.loss == history.loss
