import pytest
import torch

from skltnn._contract import cores_to_dense
from skltnn._network import TNNetwork, layer_dims
from skltnn._objective import LOSSES


def test_layer_dims_default_and_explicit():
    assert layer_dims((64, 64)) == [((4, 4, 4), (4, 4, 4))]
    assert layer_dims((64, 64, 16), n_cores=2) == [((8, 8), (8, 8)), ((8, 8), (4, 4))]
    with pytest.raises(ValueError, match=r"TN layer 1 \(64 -> 7 units\).*7 cannot be factorised"):
        layer_dims((64, 64, 7), n_cores=2)
    # An explicit n_cores never pads with ones (the automatic MPOLinear choice does).
    with pytest.raises(ValueError, match="10 cannot be factorised into 3 factors"):
        layer_dims((64, 10), n_cores=3)


@pytest.mark.parametrize("projection", ["fixed", "trainable", "none"])
def test_forward_equals_dense_computation(projection):
    g = torch.Generator().manual_seed(0)
    n_features = 16 if projection == "none" else 3
    widths = (n_features if projection == "none" else 16, 16, 8)
    net = TNNetwork(n_features, 2, (16, 8), layer_dims(widths), 4, ("relu", "tanh"), projection, g,
                    torch.float64, "cpu")
    X = torch.randn(5, n_features, dtype=torch.float64)
    Z = X if projection == "none" else X @ net.projection
    for layer, act in zip(net.tn_layers, (torch.relu, torch.tanh)):
        Z = act(Z @ cores_to_dense(list(layer.cores)) + layer.bias)
    torch.testing.assert_close(net(X), Z @ net.output.weight.T + net.output.bias)
    trainable = {id(p) for p in net.parameters()}
    if projection == "fixed":
        assert id(net.projection) not in trainable
    elif projection == "trainable":
        assert id(net.projection) in trainable


def test_squared_weight_norm():
    g = torch.Generator().manual_seed(0)
    net = TNNetwork(3, 2, (16,), layer_dims((16, 16)), 4, ("relu",), "fixed", g, torch.float64, "cpu")
    W = cores_to_dense(list(net.tn_layers[0].cores))
    expected = W.pow(2).sum() + net.output.weight.pow(2).sum()
    torch.testing.assert_close(net.squared_weight_norm(), expected)


@pytest.mark.parametrize("layer_index", [0, 1])
@pytest.mark.parametrize("projection", ["fixed", "trainable", "none"])
@pytest.mark.parametrize("activations", [("relu", "tanh"), ("sigmoid", "identity")])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
def test_hand_written_backprop_equals_autograd(layer_index, projection, activations, loss):
    g = torch.Generator().manual_seed(1)
    n_features = 16 if projection == "none" else 3
    widths = (n_features if projection == "none" else 16, 16, 8)
    net = TNNetwork(n_features, 3, (16, 8), layer_dims(widths), 3, activations, projection, g,
                    torch.float64, "cpu")
    X = torch.randn(7, n_features, dtype=torch.float64)
    target = torch.tensor([0, 2, 1, 1, 0, 2, 2]) if loss == "cross_entropy" else torch.randn(7, 3, dtype=torch.float64)
    sample_loss, sample_loss_gradient = LOSSES[loss]

    def loss_and_gradient(output):
        losses, grad = sample_loss_gradient(output, target)
        return losses.mean(), grad / len(losses)

    weight = cores_to_dense(list(net.tn_layers[layer_index].cores)).requires_grad_(True)
    dense = net.dense_parameters()
    with torch.no_grad():
        loss_value, grad_weight, grads = net.backprop(X, net.embed(X), loss_and_gradient, layer_index,
                                                      weight.detach())
    # Autograd through the ordinary forward pass, with the layer's W as a leaf.
    cores = net.tn_layers[layer_index].cores
    replaced = (layer_index, [weight.reshape(1, *weight.shape, 1)])
    expected_loss = sample_loss(net.head(net.embed(X), replaced), target).mean()
    expected = torch.autograd.grad(expected_loss, [weight, *dense])
    assert len(cores) > 1 and len(grads) == len(dense)
    torch.testing.assert_close(loss_value, expected_loss.detach())
    torch.testing.assert_close(grad_weight, expected[0])
    for got, want in zip(grads, expected[1:]):
        torch.testing.assert_close(got, want)
