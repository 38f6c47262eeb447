import pickle

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from torch import nn

from skltnn import MPO, MPOLinear, TNNClassifier
from skltnn.datasets import make_spiral
from skltnn._layers import resolve_dims


def test_forward_matches_dense_weight_and_bias():
    layer = MPOLinear(24, 12, bond_dim=3, in_dims=(2, 3, 4), out_dims=(3, 2, 2), dtype=torch.float64)
    x = torch.randn(2, 5, 24, dtype=torch.float64)
    expected = x @ layer.mpo.to_dense() + layer.bias
    torch.testing.assert_close(layer(x), expected)
    assert layer(x).shape == (2, 5, 12)


@pytest.mark.parametrize("widths, dims", [((12, 6), ((3, 4), (3, 2))), ((7, 5), ((4, 2), (3, 2)))])  # and padded
def test_gradcheck_against_finite_differences(widths, dims):
    layer = MPOLinear(*widths, bond_dim=2, in_dims=dims[0], out_dims=dims[1], dtype=torch.float64)
    x = torch.randn(4, widths[0], dtype=torch.float64, requires_grad=True)

    names, params = zip(*layer.named_parameters())

    def f(x, *params):
        return torch.func.functional_call(layer, dict(zip(names, params)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params))


def test_from_linear_is_exact_at_full_bond_dim_and_compresses_below():
    torch.manual_seed(0)
    linear = nn.Linear(64, 32).double()
    x = torch.randn(10, 64, dtype=torch.float64)
    exact = MPOLinear.from_linear(linear, bond_dim=None)
    torch.testing.assert_close(exact(x), linear(x))
    small = MPOLinear.from_linear(linear, bond_dim=2)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in linear.parameters())
    assert max(small.mpo.bond_dims) <= 2


def test_from_linear_without_bias():
    linear = nn.Linear(16, 16, bias=False)
    layer = MPOLinear.from_linear(linear, bond_dim=None)
    assert layer.bias is None
    x = torch.randn(3, 16)
    torch.testing.assert_close(layer(x), linear(x), atol=1e-5, rtol=1e-5)


def test_from_mpo_roundtrip():
    mpo = MPO.random((4, 4), (2, 8), 3, random_state=0)
    layer = MPOLinear.from_mpo(mpo, bias=np.zeros(16, dtype=np.float32))
    torch.testing.assert_close(layer.mpo.to_dense(), mpo.to_dense())


def test_trains_with_a_torch_optimizer():
    torch.manual_seed(0)
    target = nn.Linear(16, 8)
    layer = MPOLinear(16, 8, bond_dim=8)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    x = torch.randn(256, 16)
    with torch.no_grad():
        y = target(x)
    first = None
    for _ in range(300):
        opt.zero_grad()
        loss = (layer(x) - y).pow(2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.01 * first


def test_init_variance_matches_nn_linear():
    torch.manual_seed(0)
    layer = MPOLinear(256, 256, bond_dim=4)
    var = layer.mpo.to_dense().var().item()
    assert var == pytest.approx(nn.Linear(256, 256).weight.var().item(), rel=0.1)


def test_random_state_makes_init_reproducible():
    a, b = MPOLinear(64, 64, random_state=1), MPOLinear(64, 64, random_state=1)
    assert all(torch.equal(p, q) for p, q in zip(a.cores, b.cores))


def test_state_dict_and_pickle_roundtrip():
    layer = MPOLinear(32, 16, bond_dim=4)
    clone = pickle.loads(pickle.dumps(layer))
    x = torch.randn(3, 32)
    torch.testing.assert_close(clone(x), layer(x))
    other = MPOLinear(32, 16, bond_dim=4)
    other.load_state_dict(layer.state_dict())
    torch.testing.assert_close(other(x), layer(x))


def test_wrong_input_width_is_a_clear_error():
    layer = MPOLinear(32, 16)
    with pytest.raises(ValueError, match="last dimension 32"):
        layer(torch.randn(3, 31))


def test_bad_dims_and_bond_dim_are_clear_errors():
    with pytest.raises(ValueError, match="bond_dim"):
        MPOLinear(16, 16, bond_dim=0)
    with pytest.raises(ValueError, match="multiply to"):
        MPOLinear(16, 16, in_dims=(4, 2), out_dims=(4, 4))
    with pytest.raises(ValueError, match="without its counterpart"):
        MPOLinear(16, 16, in_dims=(4, 4))


def test_resolve_dims_pads_awkward_widths():
    assert resolve_dims(64, 10) == ((4, 4, 4), (5, 2, 1))


def padded_layer(bias=True):
    # 7 x 5 held as the leading block of an 8 x 6 MPO.
    return MPOLinear(7, 5, bond_dim=3, in_dims=(4, 2), out_dims=(3, 2), bias=bias, dtype=torch.float64,
                     random_state=0)


def test_a_padded_layer_is_the_leading_block_of_its_mpo():
    layer = padded_layer()
    assert layer.mpo_shape == (8, 6) and "padded to (8, 6)" in repr(layer)
    W = layer.mpo.to_dense()
    torch.testing.assert_close(layer.to_dense(), W[:7, :5])
    x = torch.randn(2, 3, 7, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ W[:7, :5] + layer.bias)
    g = torch.randn(4, 5, dtype=torch.float64)
    torch.testing.assert_close(layer.weight().apply_transpose(g), g @ W[:7, :5].T)
    with pytest.raises(ValueError, match="at least the width 7"):
        MPOLinear(7, 5, in_dims=(3, 2), out_dims=(3, 2))


def test_a_padded_layers_bond_maps_are_those_of_its_leading_block():
    # What the sweep uses: W as a function of the bond tensor, its adjoint, and x @ W from the bond.
    layer = padded_layer()
    B = layer.merge(0) + 0.1  # both cores merged: the whole MPO, (1, 8, 6, 1)
    W = B.reshape(8, 6)[:7, :5]
    bond_map = layer.dense_environment(0, batch_size=4)
    torch.testing.assert_close(bond_map.to_dense(B), W)
    grad = torch.randn(7, 5, dtype=torch.float64)
    # <adjoint(G), B> = <G, W(B)>: the adjoint of the linear map from B to the leading block.
    torch.testing.assert_close((bond_map.adjoint(grad) * B).sum(), (grad * W).sum())
    x = torch.randn(4, 7, dtype=torch.float64)
    torch.testing.assert_close(layer.bond_environment(0, x).apply(B), x @ W)


def test_from_linear_with_padded_dims_is_exact_at_full_bond_dim():
    torch.manual_seed(0)
    linear = nn.Linear(7, 5).double()
    layer = MPOLinear.from_linear(linear, bond_dim=None, in_dims=(4, 2), out_dims=(3, 2))
    x = torch.randn(6, 7, dtype=torch.float64)
    torch.testing.assert_close(layer(x), linear(x))
    assert layer.mpo_shape == (8, 6) and (layer.in_features, layer.out_features) == (7, 5)


def test_bond_dim_and_repr_follow_the_cores():
    # A TNN fit grows its layers' bonds from 1: the layer must say so.
    X, y = make_spiral(150, random_state=0)
    est = TNNClassifier(hidden_layer_sizes=(16,), bond_dim=4, max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    layer = est.network_.tn_layers[0]
    widest = max(core.shape[-1] for core in layer.cores)
    assert widest > 1 and layer.bond_dim == widest and f"bond_dim={widest}," in repr(layer)
    assert MPOLinear(256, 256, bond_dim=4).bond_dim == 4
    assert MPOLinear(6, 6, bond_dim=99, in_dims=(2, 3), out_dims=(3, 2)).bond_dim == 6  # the exact limit


def test_merge_and_split_at_full_rank_keep_w_and_give_the_bond_spectrum():
    layer = MPOLinear(24, 12, bond_dim=3, in_dims=(2, 3, 4), out_dims=(3, 2, 2), dtype=torch.float64,
                      random_state=0)
    W = layer.to_dense().detach().clone()
    layer.canonicalize(0)
    torch.testing.assert_close(layer.to_dense(), W)
    B = layer.merge(0)
    kept = layer.split(0, B, direction="right", max_rank=None, cutoff=0.0)
    torch.testing.assert_close(layer.to_dense(), W)
    # Bond 0 of W viewed as (i_1 o_1) x (i_2 o_2 i_3 o_3): brute-force SVD.
    M = W.reshape(2, 3, 4, 3, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(6, -1)
    expected = torch.linalg.svdvals(M)[:len(kept)]
    torch.testing.assert_close(kept, expected)
    assert layer.cores[1].shape[0] == len(kept) == 6 and layer.bond_dim == 6


def test_a_split_that_keeps_the_shape_updates_the_parameters_in_place():
    layer = MPOLinear(16, 16, bond_dim=2, in_dims=(4, 4), out_dims=(4, 4), dtype=torch.float64, random_state=0)
    same = list(layer.cores)
    layer.split(0, layer.merge(0), direction="left", max_rank=2, cutoff=0.0)
    assert all(a is b for a, b in zip(layer.cores, same))  # the optimiser's references stay valid
    layer.split(0, layer.merge(0) + 0.1, direction="left", max_rank=4, cutoff=0.0)
    assert layer.cores[0] is not same[0] and layer.bond_dim == 4


def test_inference_keeps_the_merged_cores_until_they_change():
    # Outside autograd the plan's super-cores are merged once; a step on the cores must not leave them stale.
    layer = MPOLinear(1024, 1024, bond_dim=16, random_state=0)
    x = torch.randn(1, 1024)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), x @ layer.to_dense() + layer.bias, rtol=1e-4, atol=1e-5)
        (plan, _), = layer.__dict__["_supercores"][1].items()
        start, stop = next(group for group in plan if group[1] - group[0] > 1)  # cores merged, and kept
        layer.cores[start].mul_(2.0)  # in place, as an optimiser's step
        torch.testing.assert_close(layer(x), x @ layer.to_dense() + layer.bias, rtol=1e-4, atol=1e-5)
    assert "_supercores" not in pickle.loads(pickle.dumps(layer)).__dict__
