import pytest
import torch

from skltnn._contract import cores_to_dense
from skltnn._layers import DenseWeight, resolve_dims
from skltnn._network import TNNetwork, first_width, layer_dims, random_projection
from skltnn._objective import LOSSES


def test_layer_dims_default_and_explicit():
    assert layer_dims((64, 64)) == [((4, 4, 4), (4, 4, 4))]
    assert layer_dims((64, 64, 16), n_cores=2) == [((8, 8), (8, 8)), ((8, 8), (4, 4))]
    # The rule of MPOLinear too: a width with fewer prime factors is padded with ones.
    assert layer_dims((64, 10), n_cores=3) == [((4, 4, 4), (5, 2, 1))]
    assert layer_dims((64, 10)) == [resolve_dims(64, 10)]
    # Widths with too few prime factors for the cores are padded: 8 -> 7 over 4 cores as 16 -> 16.
    assert layer_dims((16, 8, 7), n_cores=4) == [((2, 2, 2, 2), (2, 2, 2, 1)), ((2, 2, 2, 2),) * 2]


def test_layer_dims_as_given():
    core_dims = [((8, 8), (32, 32)), ((128, 8), (8, 128))]
    assert layer_dims((64, 1024, 1024), core_dims=core_dims) == core_dims
    with pytest.raises(ValueError, match=r"core_dims of TN layer 1 \(1024 -> 1024 units\): in_dims=\(128, 4\)"):
        layer_dims((64, 1024, 1024), core_dims=[core_dims[0], ((128, 4), (8, 128))])


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


@pytest.mark.parametrize("projection", ["fixed", "trainable", "none"])
def test_squared_weight_norm_covers_every_weight_matrix_but_a_frozen_projection(projection):
    g = torch.Generator().manual_seed(0)
    n_features = 16 if projection == "none" else 3
    net = TNNetwork(n_features, 2, (16,), layer_dims((16, 16)), 4, ("relu",), projection, g, torch.float64, "cpu")
    W = cores_to_dense(list(net.tn_layers[0].cores))
    expected = W.pow(2).sum() + net.output.weight.pow(2).sum()
    if projection == "trainable":  # else the penalty could grow the product of projection and W through it
        expected = expected + net.projection.pow(2).sum()
    torch.testing.assert_close(net.squared_weight_norm(), expected)


@pytest.mark.parametrize("projection", ["fixed", "trainable"])
def test_dense_parameters_are_every_parameter_but_the_cores_by_their_own_names(projection):
    g = torch.Generator().manual_seed(0)
    net = TNNetwork(3, 2, (16, 8), layer_dims((16, 16, 8)), 4, ("relu", "relu"), projection, g, torch.float64, "cpu")
    own = {name: p for name, p in net.named_parameters() if ".cores." not in name}
    dense = net.dense_parameters()
    assert list(dense) == list(own) and all(dense[name] is own[name] for name in own)
    # From the second layer on: its bias and the output layer's parameters.
    assert list(net.dense_parameters(1)) == ["tn_layers.1.bias", "output.weight", "output.bias"]
    penalized = ["projection", "output.weight"] if projection == "trainable" else ["output.weight"]
    assert list(net.penalized_dense_parameters()) == penalized


def test_bond_dim_for_all_layers_or_one_per_layer():
    g = torch.Generator().manual_seed(0)
    dims = layer_dims((16, 16, 16), n_cores=2)
    for bond_dim, expected in ((3, [(3,), (3,)]), ([3, 1], [(3,), (1,)])):
        net = TNNetwork(3, 2, (16, 16), dims, bond_dim, ("relu", "relu"), "fixed", g, torch.float64, "cpu")
        assert [layer.mpo.bond_dims for layer in net.tn_layers] == expected


@pytest.mark.parametrize("shape", [(64, 64), (100, 16), (3, 64)])
def test_the_projection_keeps_every_direction_of_the_features(shape):
    n_features, width = shape
    P = random_projection(n_features, width, torch.Generator().manual_seed(0))
    assert P.shape == shape and P.dtype == torch.float64
    gaussian = torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    if n_features >= width:
        # Orthonormal columns (the Gaussian draw's Q) where a Gaussian map is ill-conditioned.
        torch.testing.assert_close(P.T @ P, torch.eye(width, dtype=torch.float64))
        torch.testing.assert_close(P.abs(), torch.linalg.qr(gaussian).Q.abs())
        assert n_features > width or torch.linalg.cond(gaussian) > 100
    else:
        # The paper's Gaussian map, well-conditioned when it widens this much.
        torch.testing.assert_close(P, gaussian / n_features**0.5)
        assert torch.linalg.cond(P) < 5
    # Each output has about unit variance for standardised features.
    assert abs(P.square().sum(0).mean() - 1) < 0.2
    assert torch.equal(P, random_projection(n_features, width, torch.Generator().manual_seed(0)))


@pytest.mark.parametrize(("first", "layer_index"), [(0, 0), (0, 1), (1, 1)])
@pytest.mark.parametrize("projection", ["fixed", "trainable", "none"])
@pytest.mark.parametrize("activations", [("relu", "tanh"), ("sigmoid", "identity")])
@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
@pytest.mark.parametrize("n_rows", [7, 2])  # more rows than features, and fewer (two orders of X^T g W^T)
def test_hand_written_backprop_equals_autograd(first, layer_index, projection, activations, loss, n_rows):
    g = torch.Generator().manual_seed(1)
    n_features = 16 if projection == "none" else 3
    widths = (n_features if projection == "none" else 16, 16, 8)
    net = TNNetwork(n_features, 3, (16, 8), layer_dims(widths), 3, activations, projection, g,
                    torch.float64, "cpu")
    X = torch.randn(n_rows, n_features, dtype=torch.float64)
    target = (torch.tensor([0, 2, 1, 1, 0, 2, 2]) if loss == "cross_entropy" else torch.randn(7, 3, dtype=torch.float64))[:n_rows]
    sample_loss, sample_loss_gradient = LOSSES[loss]

    def loss_and_gradient(output):
        losses, grad = sample_loss_gradient(output, target)
        return losses.mean(), grad / len(losses)

    weight = cores_to_dense(list(net.tn_layers[layer_index].cores)).requires_grad_(True)
    # From layer `first` on: its input computed apart, the parameters before it fixed.
    dense = net.dense_parameters(first)
    weights = {layer_index: DenseWeight(weight.detach())}
    with torch.no_grad():
        inputs = [None] * first
        output = net.forward_pass(net.forward_pass(net.embed(X), last=first), weights, first, inputs=inputs)
    loss_value, grad_output = loss_and_gradient(output)
    grads, layer_grads = net.backward(inputs, grad_output, weights, X, first)
    grad_weight = inputs[layer_index].t() @ layer_grads[layer_index]
    # Autograd through the ordinary forward pass, with the layer's W as a leaf.
    expected_loss = sample_loss(net.forward_pass(net.embed(X), {layer_index: DenseWeight(weight)}), target).mean()
    expected = torch.autograd.grad(expected_loss, [weight, *dense.values()])
    assert net.tn_layers[layer_index].n_bonds > 0 and list(grads) == list(dense)
    torch.testing.assert_close(loss_value, expected_loss.detach())
    torch.testing.assert_close(grad_weight, expected[0])
    for got, want in zip(grads.values(), expected[1:]):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize("n_features, projection, expected",
                         [(3, "fixed", 16), (40, "fixed", 40), (3, "trainable", 16), (40, "trainable", 16),
                          (40, "none", 40), (3, "none", 3)])
def test_a_frozen_projection_never_narrows_the_features(n_features, projection, expected):
    # More features than the first hidden width: the frozen map is a rotation of all of them (no direction
    # lost); a trainable one maps them to that width, as a dense first layer does (and learns what to keep).
    g = torch.Generator().manual_seed(0)
    first = first_width(n_features, (16,), projection)
    assert first == expected
    net = TNNetwork(n_features, 2, (16,), layer_dims((first, 16)), 4, ("relu",), projection, g, torch.float64, "cpu")
    if projection != "none":
        P = net.projection.detach()
        assert P.shape == (n_features, first)
        if n_features >= 16:
            torch.testing.assert_close(P.T @ P, torch.eye(first, dtype=torch.float64))
