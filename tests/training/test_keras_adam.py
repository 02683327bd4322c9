"""KerasAdam against a float64 numpy transcription of the tf.keras formulas."""

import io

import numpy as np
import pytest
import torch

from rnnzoo.training import KerasAdam


def numpy_keras_adam(params, grads_per_step, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7, decay=0.0,
                     clipnorm=None, clipvalue=None):
    """The update written out from the Keras legacy optimizer, in float64."""
    params = [p.copy() for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for iterations, grads in enumerate(grads_per_step):
        lr_t = lr / (1 + decay * iterations)
        t = iterations + 1
        alpha = lr_t * np.sqrt(1 - b2**t) / (1 - b1**t)
        for i, g in enumerate(grads):
            if clipvalue is not None:
                g = np.clip(g, -clipvalue, clipvalue)
            if clipnorm is not None:
                g = g * clipnorm / max(np.sqrt(np.sum(g * g)), clipnorm)
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] = params[i] - alpha * m[i] / (np.sqrt(v[i]) + eps)
    return params


def run_torch(opt_cls, params, grads_per_step, **kwargs):
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    opt = opt_cls(tensors, **kwargs)
    for grads in grads_per_step:
        for p, g in zip(tensors, grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return [p.detach().numpy() for p in tensors], opt


def random_problem(steps=6, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(4, 3)), rng.normal(size=(3,)), rng.normal(size=())]
    grads = [[scale * rng.normal(size=p.shape) for p in params] for _ in range(steps)]
    return params, grads


@pytest.mark.parametrize("decay", [0.0, 1e-5, 0.3])
@pytest.mark.parametrize("lr", [1e-3, 0.05])
def test_matches_numpy_formulas(lr, decay):
    params, grads = random_problem()
    expected = numpy_keras_adam(params, grads, lr=lr, decay=decay)
    got, opt = run_torch(KerasAdam, params, grads, learning_rate=lr, decay=decay)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)
    assert opt.iterations == len(grads)


def test_decay_changes_the_trajectory():
    params, grads = random_problem()
    plain, _ = run_torch(KerasAdam, params, grads)
    decayed, _ = run_torch(KerasAdam, params, grads, decay=0.3)
    assert not np.allclose(plain[0], decayed[0])


@pytest.mark.parametrize(
    "clip", [dict(clipvalue=0.3), dict(clipnorm=0.5), dict(clipvalue=0.3, clipnorm=0.4), dict(clipnorm=100.0)]
)
def test_clipping_matches_numpy(clip):
    params, grads = random_problem(scale=2.0)
    expected = numpy_keras_adam(params, grads, **clip)
    got, _ = run_torch(KerasAdam, params, grads, **clip)
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)


def test_clipping_leaves_param_grad_untouched():
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = KerasAdam([p], clipvalue=0.1)
    p.grad = torch.tensor([5.0, -5.0, 0.01], dtype=torch.float64)
    opt.step()
    assert p.grad.tolist() == [5.0, -5.0, 0.01]


def test_eps_is_keras_placement_not_torch():
    # Gradients ~1e-9: sqrt(v) ~ 3e-11 is far below eps=1e-7, where the two rules part ways.
    params, grads = random_problem(scale=1e-9)
    keras, _ = run_torch(KerasAdam, params, grads, epsilon=1e-7)
    torch_adam, _ = run_torch(torch.optim.Adam, params, grads, lr=1e-3, eps=1e-7)
    expected = numpy_keras_adam(params, grads, eps=1e-7)
    np.testing.assert_allclose(keras[0], expected[0], rtol=1e-12)
    moved_keras = np.abs(keras[0] - params[0]).max()
    moved_torch = np.abs(torch_adam[0] - params[0]).max()
    assert moved_torch > 3 * moved_keras  # torch divides by sqrt(v_hat) ~ 1e-9 + eps: bigger steps


def test_agrees_with_torch_adam_when_eps_is_negligible():
    params, grads = random_problem(scale=1.0)
    keras, _ = run_torch(KerasAdam, params, grads, epsilon=1e-12)
    torch_adam, _ = run_torch(torch.optim.Adam, params, grads, lr=1e-3, eps=1e-12)
    for k, t in zip(keras, torch_adam):
        np.testing.assert_allclose(k, t, rtol=1e-9, atol=1e-12)


def test_state_dict_round_trip():
    params, grads = random_problem(steps=8)
    first, rest = grads[:5], grads[5:]

    _, reference = run_torch(KerasAdam, params, grads, decay=0.1)
    reference_params = [p.detach().numpy() for g in reference.param_groups for p in g["params"]]

    resumed_params, opt = run_torch(KerasAdam, params, first, decay=0.1)
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    tensors = [torch.tensor(p, requires_grad=True) for p in resumed_params]
    fresh = KerasAdam(tensors, decay=0.1)
    fresh.load_state_dict(torch.load(buffer))
    assert fresh.iterations == 5
    for grads_step in rest:
        for p, g in zip(tensors, grads_step):
            p.grad = torch.tensor(g)
        fresh.step()
    for got, want in zip(tensors, reference_params):
        np.testing.assert_array_equal(got.detach().numpy(), want)


def test_param_groups_share_one_step_counter():
    a = torch.nn.Parameter(torch.ones(2))
    b = torch.nn.Parameter(torch.ones(2))
    opt = KerasAdam([{"params": [a]}, {"params": [b], "lr": 0.1}])
    a.grad, b.grad = torch.ones(2), torch.ones(2)
    opt.step()
    opt.step()
    assert opt.iterations == 2
    # First Adam step moves each element by ~lr (m/sqrt(v) = 1 after bias correction).
    assert torch.allclose(1 - b.detach(), 100 * (1 - a.detach()), rtol=1e-4)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(learning_rate=-1.0), "learning_rate"),
        (dict(beta_1=1.0), "beta_1"),
        (dict(beta_2=-0.1), "beta_2"),
        (dict(epsilon=-1e-7), "epsilon"),
        (dict(decay=float("nan")), "decay"),
        (dict(clipnorm=0.0), "clipnorm"),
        (dict(clipvalue="1"), "clipvalue"),
    ],
)
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name}: expected .*, got "):
        KerasAdam([torch.nn.Parameter(torch.ones(1))], **kwargs)
