"""MNIST's three views, on the committed real subset."""

import numpy as np
import pytest
import torch

from rnnzoo import tasks
from rnnzoo.tasks import draws


@pytest.mark.parametrize("view, shape", [("rows", (28, 28)), ("pixels", (784, 1)), ("permuted_pixels", (784, 1))])
def test_views_shape_and_scale(mnist_subset, view, shape):
    task = tasks.task("mnist", view=view)
    assert (task.steps, task.features) == shape
    train, test = task.examples(seed=0, train_limit=100, dataset=mnist_subset)
    assert (len(train), len(test)) == (100, 500)
    x, y, _ = train.batch(torch.arange(10))
    assert x.shape == (10, *shape) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(y, torch.from_numpy(mnist_subset.y_train[:10].astype(np.int64)))
    assert x.max() <= 1 and x.min() >= 0


def test_pixels_read_the_rows_in_order_and_permuted_pixels_in_the_fixed_order(mnist_subset):
    rows = tasks.task("mnist").examples(0, 5, 5, dataset=mnist_subset)[0].batch(torch.arange(5))[0]
    pixels = tasks.task("mnist", view="pixels").examples(0, 5, 5, dataset=mnist_subset)[0].batch(torch.arange(5))[0]
    permuted = tasks.task("mnist", view="permuted_pixels").examples(0, 5, 5, dataset=mnist_subset)[0]
    permuted = permuted.batch(torch.arange(5))[0]
    assert torch.equal(pixels.reshape(5, 28, 28), rows)
    order = draws.permutation(784, tasks.images.PERMUTATION_SEED)
    assert sorted(order.tolist()) == list(range(784)) and order.tolist() != list(range(784))
    assert torch.equal(permuted[:, :, 0], pixels[:, order, 0])


def test_the_seed_does_not_change_a_fixed_split(mnist_subset):
    a = tasks.task("mnist").examples(0, 50, 50, dataset=mnist_subset)
    b = tasks.task("mnist").examples(9, 50, 50, dataset=mnist_subset)
    assert all(torch.equal(p.x, q.x) for p, q in zip(a, b))
