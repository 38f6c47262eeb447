import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skltnn._network import TNNetwork, layer_dims
from skltnn._objective import (LOSSES, MIN_TRANSPOSED_LOGITS, VECTOR_LANES, Objective, linear_logits,
                               log_softmax)


def small_network(n_outputs):
    g = torch.Generator().manual_seed(0)
    return TNNetwork(3, n_outputs, (8,), layer_dims((8, 8)), 2, ("relu",), "fixed", g, torch.float64, "cpu")


def targets(loss, rng):
    """Encoded targets of 20 samples for ``loss``, and the number of network outputs."""
    if loss == "cross_entropy":
        return torch.as_tensor(rng.integers(0, 3, 20)), 3
    if loss == "binary_cross_entropy":  # 3 labels, each 0 or 1
        return torch.as_tensor(rng.integers(0, 2, (20, 3)), dtype=torch.float64), 3
    return torch.randn(20, 2, dtype=torch.float64), 2


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy", "squared_error"])
@pytest.mark.parametrize("uniform", [True, False])
def test_loss_and_gradient_equal_autograd_of_the_weighted_mean(loss, uniform):
    rng = np.random.default_rng(0)
    Y, n_outputs = targets(loss, rng)
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


@pytest.mark.parametrize("n_classes", [2, 10, VECTOR_LANES, 40])
@pytest.mark.parametrize("n_rows", [5, MIN_TRANSPOSED_LOGITS])
@pytest.mark.parametrize("computed_transposed", [False, True])
def test_cross_entropy_on_either_layout_of_the_logits(n_classes, n_rows, computed_transposed):
    # Few classes with many rows, or logits computed transposed, take the
    # transposed log-softmax; all agree with torch's.
    g = torch.Generator().manual_seed(0)
    if computed_transposed:
        output = torch.randn(n_classes, n_rows, generator=g).t().requires_grad_(True)
    else:
        output = torch.randn(n_rows, n_classes, generator=g, requires_grad=True)
    target = torch.randint(n_classes, (n_rows,), generator=g)
    torch.testing.assert_close(log_softmax(output), torch.log_softmax(output, dim=1))
    cross_entropy, cross_entropy_gradient = LOSSES["cross_entropy"]
    losses = cross_entropy(output, target)
    torch.testing.assert_close(losses, F.cross_entropy(output, target, reduction="none"))
    value, grad = cross_entropy_gradient(output.detach(), target)
    torch.testing.assert_close(value, losses.detach())
    torch.testing.assert_close(grad, torch.autograd.grad(losses.sum(), output)[0])


@pytest.mark.parametrize("n_outputs", [3, VECTOR_LANES])
def test_linear_logits_equal_the_affine_map(n_outputs):
    g = torch.Generator().manual_seed(0)
    Z, weight, bias = (torch.randn(*shape, generator=g) for shape in ((50, 8), (n_outputs, 8), (n_outputs,)))
    logits = linear_logits(Z, weight, bias)
    torch.testing.assert_close(logits, Z @ weight.T + bias)
    # Few outputs: a view of the transposed logits, which the log-softmax takes as they are.
    assert logits.t().is_contiguous() == (n_outputs < VECTOR_LANES)


def test_the_frozen_projection_is_cached_and_equals_embedding():
    X = np.random.default_rng(1).normal(size=(10, 3))
    net = small_network(2)
    objective = Objective(net, X, torch.zeros(10, dtype=torch.long), torch.ones(10), "cross_entropy")
    index = torch.tensor([4, 1])
    assert objective._embedded is not None
    torch.testing.assert_close(objective.inputs(index), net.embed(torch.as_tensor(X)[index]))


def test_binary_cross_entropy_is_the_log_loss_summed_over_labels():
    # As MLPClassifier's multilabel loss: -sum_j y_j log p_j + (1 - y_j) log(1 - p_j), p = sigmoid.
    rng = np.random.default_rng(2)
    logits = torch.as_tensor(rng.normal(size=(6, 4)) * 3)
    Y = torch.as_tensor(rng.integers(0, 2, (6, 4)), dtype=torch.float64)
    p = 1 / (1 + np.exp(-logits.numpy()))
    expected = -(Y.numpy() * np.log(p) + (1 - Y.numpy()) * np.log(1 - p)).sum(axis=1)
    np.testing.assert_allclose(LOSSES["binary_cross_entropy"][0](logits, Y).numpy(), expected, rtol=1e-12)
