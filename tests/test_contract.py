import math

import numpy as np
import pytest
import torch

from skltnn import MPO
from skltnn._contract import (
    MAX_DENSE_ENTRIES,
    MEMORY_COST,
    MIN_BATCHED_COLUMNS,
    BondEnvironment,
    BondMap,
    contract_cores_with_input,
    contraction_plan,
    cores_to_dense,
    group_cost,
    merge_cores,
    merge_pair,
    mpo_matmul,
    plan_cost,
    rowwise_product,
    squared_norm,
)


def random_cores(in_dims, out_dims, bond_dim, seed=0):
    return MPO.random(in_dims, out_dims, bond_dim, random_state=seed, dtype=torch.float64).cores


@pytest.mark.parametrize("in_dims, out_dims", [((2, 3, 4), (3, 2, 2)), ((5,), (7,)), ((1, 3), (2, 1))])
def test_both_paths_equal_dense_matmul(in_dims, out_dims):
    cores = random_cores(in_dims, out_dims, 3)
    W = cores_to_dense(cores)
    x = torch.randn(6, W.shape[0], dtype=torch.float64)
    torch.testing.assert_close(contract_cores_with_input(cores, x), x @ W, atol=1e-12, rtol=0)
    torch.testing.assert_close(mpo_matmul(x, cores), x @ W, atol=1e-12, rtol=0)


def test_dense_is_row_major_in_both_indices():
    # A single core's dense matrix is the core itself; two cores give a Kronecker product.
    a, b = torch.randn(1, 2, 3, 1, dtype=torch.float64), torch.randn(1, 4, 5, 1, dtype=torch.float64)
    expected = torch.kron(a[0, :, :, 0], b[0, :, :, 0])
    torch.testing.assert_close(cores_to_dense([a, b]), expected)


def test_squared_norm_equals_frobenius():
    cores = random_cores((2, 3, 4), (3, 2, 2), 4)
    assert squared_norm(cores).item() == pytest.approx(cores_to_dense(cores).pow(2).sum().item())


def test_merge_pair_keeps_the_matrix():
    cores = random_cores((2, 3, 4), (3, 2, 2), 4)
    merged = [cores[0], merge_pair(cores[1], cores[2])]
    assert merged[1].shape == (cores[1].shape[0], 12, 4, 1)
    torch.testing.assert_close(cores_to_dense(merged), cores_to_dense(cores))


def all_plans(n):
    """Every split of 0..n into runs of neighbouring cores (2^(n-1) of them)."""
    for mask in range(2 ** (n - 1)):
        cuts = [0] + [k + 1 for k in range(n - 1) if mask >> k & 1] + [n]
        yield tuple(zip(cuts, cuts[1:]))


def run_plan(cores, x, groups):
    supers = [merge_cores(cores[a:b]) for a, b in groups]
    return contract_cores_with_input(supers, x)


def shapes_of(cores):
    return tuple(tuple(c.shape) for c in cores)


@pytest.mark.parametrize("in_dims, out_dims, bond_dim", [((2, 3, 4, 2), (3, 2, 2, 2), 3), ((4, 4, 4), (2, 4, 8), 5)])
def test_every_plan_computes_x_at_w(in_dims, out_dims, bond_dim):
    cores = random_cores(in_dims, out_dims, bond_dim)
    x = torch.randn(5, math.prod(in_dims), dtype=torch.float64)
    expected = x @ cores_to_dense(cores)
    for groups in all_plans(len(cores)):
        torch.testing.assert_close(run_plan(cores, x, groups), expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("batch", [1, 32, 256, 4096])
@pytest.mark.parametrize("dims, bond_dim", [((4,) * 6, 4), ((4,) * 6, 16), ((2,) * 8, 8), ((8, 2, 8), 3)])
def test_plan_is_the_cheapest_by_brute_force(batch, dims, bond_dim):
    shapes = shapes_of(random_cores(dims, dims, bond_dim))
    chosen = contraction_plan(shapes, batch)

    def total(groups):
        macs, elements = plan_cost(shapes, batch, groups)
        return macs + MEMORY_COST * elements

    assert total(chosen) == min(total(g) for g in all_plans(len(shapes)))


def test_group_cost_counts_the_matmul():
    shapes = shapes_of(random_cores((4, 4, 4), (4, 4, 4), 8))
    # Rebuild: 16*(8*16*8) + 256*(8*16*1) multiply-adds, then the matmul 32*64*64.
    macs, elements = group_cost(shapes, 0, 3, 32)
    assert macs == 16 * 8 * 16 * 8 + 256 * 8 * 16 + 32 * 64 * 64
    assert elements == 256 * 8 + 4096 + 32 * 64
    # Core by core: each step is a (rows) x (D_left i) @ (D_left i) x (o D_right) matmul.
    assert group_cost(shapes, 1, 2, 32)[0] == (32 * 4 * 4) * (8 * 4) * (4 * 8)


def test_known_plans():
    small = shapes_of(random_cores((4, 4, 4), (4, 4, 4), 16))
    assert contraction_plan(small, 256) == ((0, 3),)  # 64x64: rebuild W
    wide = ((1, 4, 4, 4),) + ((4, 4, 4, 4),) * 4 + ((4, 4, 4, 1),)  # 4096x4096 at D=4
    plan = contraction_plan(wide, 256)
    assert 1 < len(plan) < 6  # neither dense nor core by core: a mixed order


def test_never_materialises_a_huge_super_core():
    huge = ((1, 256, 256, 1), (1, 256, 256, 1), (1, 2, 2, 1))  # 2**17 x 2**17 entries
    for start, stop in contraction_plan(huge, 10**6):
        group = huge[start:stop]
        assert math.prod(s[1] * s[2] for s in group) <= MAX_DENSE_ENTRIES


def test_gradients_agree_between_paths():
    cores = [c.clone().requires_grad_(True) for c in random_cores((2, 3, 4), (3, 2, 2), 3)]
    x = torch.randn(5, 24, dtype=torch.float64)
    g1 = torch.autograd.grad(contract_cores_with_input(cores, x).sin().sum(), cores)
    g2 = torch.autograd.grad((x @ cores_to_dense(cores)).sin().sum(), cores)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)


@pytest.mark.parametrize("bond", [0, 1, 2])
def test_bond_map_and_its_adjoint_against_merged_cores(bond):
    cores = random_cores((2, 3, 2, 2), (3, 2, 2, 1), 3, seed=bond)
    left = merge_cores(cores[:bond]) if bond else None
    right = merge_cores(cores[bond + 2:]) if bond + 2 < len(cores) else None
    B = merge_pair(cores[bond], cores[bond + 1]).requires_grad_(True)
    bond_map = BondMap(left, right, B.shape)
    W = bond_map.to_dense(B)
    torch.testing.assert_close(W, cores_to_dense(cores), atol=1e-12, rtol=0)
    # The adjoint is the gradient of <W(B), G> with respect to B.
    G = torch.randn_like(W)
    expected, = torch.autograd.grad(cores_to_dense(cores[:bond] + [B] + cores[bond + 2:]), B, G)
    torch.testing.assert_close(bond_map.adjoint(G), expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("batch", [1, 5, 4096])
@pytest.mark.parametrize("bond", [0, 1, 2, 3])
def test_bond_environment_applies_the_layer_with_the_bond_tensor(bond, batch):
    # Five cores, so that the plan right of the bond can merge several of them (large batches).
    cores = random_cores((2, 3, 2, 2, 2), (3, 2, 2, 1, 2), 3, seed=bond)
    x = torch.randn(batch, math.prod(c.shape[1] for c in cores), dtype=torch.float64)
    B = merge_pair(cores[bond], cores[bond + 1])
    environment = BondEnvironment(x, cores[:bond], cores[bond + 2:], B.shape)
    torch.testing.assert_close(environment.apply(B), x @ cores_to_dense(cores), atol=1e-12, rtol=1e-12)
    # Another bond tensor, and the gradient with respect to it, as the whole chain gives them.
    other = torch.randn_like(B).requires_grad_(True)
    expected = x @ cores_to_dense(cores[:bond] + [other] + cores[bond + 2:])
    got = environment.apply(other)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=1e-12)
    G = torch.randn_like(got)
    want, = torch.autograd.grad(expected, other, G)
    torch.testing.assert_close(torch.autograd.grad(got, other, G)[0], want, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("columns", [2, MIN_BATCHED_COLUMNS])  # one large product, a batched one
def test_rowwise_product_gradients(columns):
    a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    t = torch.randn(5, 4, columns, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rowwise_product, (a, t))
    torch.testing.assert_close(rowwise_product(a, t), torch.einsum("mk,rkn->rmn", a, t))
