import numpy as np
import pytest
import torch

from skltnn._network import TNNetwork, layer_dims
from skltnn._objective import LOSSES, Objective


def small_network(n_outputs):
    g = torch.Generator().manual_seed(0)
    return TNNetwork(3, n_outputs, (8,), layer_dims((8, 8)), 2, ("relu",), "fixed", g, torch.float64, "cpu")


@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
@pytest.mark.parametrize("uniform", [True, False])
def test_loss_and_gradient_equal_autograd_of_the_weighted_mean(loss, uniform):
    rng = np.random.default_rng(0)
    Y = torch.as_tensor(rng.integers(0, 3, 20)) if loss == "cross_entropy" else torch.randn(20, 2, dtype=torch.float64)
    n_outputs = 3 if loss == "cross_entropy" else 2
    weights = torch.ones(20, dtype=torch.float64) if uniform else torch.as_tensor(rng.uniform(0, 2, 20))
    objective = Objective(small_network(n_outputs), rng.normal(size=(20, 3)), Y, weights, loss)
    index = torch.tensor([3, 0, 7, 7, 12])
    output = torch.randn(5, n_outputs, dtype=torch.float64, requires_grad=True)
    value, grad = objective.loss_and_gradient(output.detach(), index)
    expected = objective.output_loss(output, index)
    # Brute force: the weighted mean of the per-sample losses.
    w = weights[index]
    torch.testing.assert_close(expected, (LOSSES[loss][0](output, Y[index]) * w).sum() / w.sum())
    torch.testing.assert_close(value, expected.detach())
    torch.testing.assert_close(grad, torch.autograd.grad(expected, output)[0])


def test_the_frozen_projection_is_cached_and_equals_embedding():
    X = np.random.default_rng(1).normal(size=(10, 3))
    net = small_network(2)
    objective = Objective(net, X, torch.zeros(10, dtype=torch.long), torch.ones(10), "cross_entropy")
    index = torch.tensor([4, 1])
    assert objective._embedded is not None
    torch.testing.assert_close(objective.inputs(index), net.embed(torch.as_tensor(X)[index]))
