"""Same seed, same training: a few Adam steps of a notebook-like model agree on both backends."""

import copy

import torch

import rnnzoo


def set_backend(model, backend):
    for module in model.modules():
        if isinstance(module, rnnzoo.layers.rnn.RNN):
            module.backend = backend


def train(model, steps=4):
    torch.manual_seed(42)  # dropout masks are drawn from the global generator on every backend
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(steps):
        x = torch.rand(8, 6, 5, generator=generator, dtype=torch.float64)
        y = torch.randint(0, 3, (8,), generator=generator)
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_training_steps_agree_on_both_backends():
    torch.manual_seed(0)
    model = rnnzoo.Sequential([
        rnnzoo.Input(shape=(None, 5)),
        rnnzoo.Bidirectional(rnnzoo.LSTM(8, activation="relu", return_sequences=True, dropout=0.2)),
        rnnzoo.Dropout(0.3),
        rnnzoo.GRU(7, activation="relu", return_sequences=True),
        rnnzoo.SimpleRNN(6),
        rnnzoo.Dense(3),
    ]).double()
    reference, fast = copy.deepcopy(model), copy.deepcopy(model)
    set_backend(reference, "reference")
    set_backend(fast, "fused")
    torch.testing.assert_close(train(fast), train(reference), atol=1e-10, rtol=1e-10)
    for a, b in zip(fast.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
