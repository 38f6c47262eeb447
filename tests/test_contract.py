import math

import numpy as np
import pytest
import torch

from skltnn import MPO
from skltnn._contract import (
    MAX_DENSE_ENTRIES,
    contract_cores_with_input,
    core_by_core_flops,
    cores_to_dense,
    dense_flops,
    merge_pair,
    mpo_matmul,
    prefer_dense,
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


def count_einsum_flops(shapes, batch):
    """Multiply-adds counted by brute force from the shapes the contraction visits."""
    flops, o_done, i_rest = 0, 1, math.prod(s[1] for s in shapes)
    for d_left, i, o, d_right in shapes:
        i_rest //= i
        # the contraction is a (batch o_done i_rest) x (d_left i) @ (d_left i) x (o d_right) matmul
        flops += (batch * o_done * i_rest) * (d_left * i) * (o * d_right)
        o_done *= o
    return flops


def test_flop_model():
    shapes = tuple(tuple(c.shape) for c in random_cores((4, 4, 4), (4, 4, 4), 8))
    assert core_by_core_flops(shapes, 32) == count_einsum_flops(shapes, 32)
    # Rebuild: 16*(8*16*8) + 256*(8*16*1), then the matmul 32*64*64.
    assert dense_flops(shapes, 32) == 16 * 8 * 16 * 8 + 256 * 8 * 16 + 32 * 64 * 64


def test_path_choice_follows_the_counts():
    small = tuple(tuple(c.shape) for c in random_cores((4, 4, 4), (4, 4, 4), 16))
    assert prefer_dense(small, 256)  # 64x64 at D=16: dense is less work
    big = ((1, 16, 16, 4), (4, 16, 16, 4), (4, 16, 16, 1))  # 4096x4096 at D=4
    assert core_by_core_flops(big, 256) < dense_flops(big, 256)
    assert not prefer_dense(big, 256)


def test_never_materialises_a_huge_dense_matrix():
    huge = ((1, 256, 256, 1), (1, 256, 256, 1), (1, 2, 2, 1))  # 2**17 x 2**17 entries
    assert 2**34 > MAX_DENSE_ENTRIES
    assert not prefer_dense(huge, 10**9)


def test_gradients_agree_between_paths():
    cores = [c.clone().requires_grad_(True) for c in random_cores((2, 3, 4), (3, 2, 2), 3)]
    x = torch.randn(5, 24, dtype=torch.float64)
    g1 = torch.autograd.grad(contract_cores_with_input(cores, x).sin().sum(), cores)
    g2 = torch.autograd.grad((x @ cores_to_dense(cores)).sin().sum(), cores)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)
