import numpy as np
import pytest
import torch

from skltnn import MPO
from skltnn._cores import bond_spectra, full_rank_bond_dim, right_orthonormalize

from ._reference import brute_force_spectra


def test_spectra_of_a_right_canonical_mpo_skip_the_orthonormalisation():
    mpo = MPO.random((2, 2, 3, 2), (3, 2, 2, 2), 5, random_state=1, dtype=torch.float64)
    cores = right_orthonormalize(mpo.cores, 0)
    W = mpo.to_dense().numpy()
    for got, want in zip(bond_spectra(cores, right_canonical=True),
                         brute_force_spectra(W, mpo.in_dims, mpo.out_dims)):
        np.testing.assert_allclose(got.numpy() / got.norm().item(), want[: len(got)], atol=1e-10)
    # Without the guarantee the shortcut is wrong: it needs the canonical form.
    shortcut = bond_spectra(mpo.cores, right_canonical=True)
    assert not all(torch.allclose(a, b) for a, b in zip(shortcut, bond_spectra(mpo.cores)))


@pytest.mark.parametrize("in_dims, out_dims, expected", [
    ((4, 4, 4), (4, 4, 4), 1),  # balanced cores: the product operator has full rank
    ((3, 2), (2, 3), 2),  # rank 2 * 2 of 6 at D = 1
    ((16, 2), (2, 16), 8),  # rank 2 * 2 of 32 at D = 1
    ((32, 1), (1, 32), 32),  # a low-rank factorisation U V
    ((8, 2, 4), (2, 4, 2), 2),  # rank 2 * 2 * 2 of 16 at D = 1
    ((2, 3, 2, 2), (3, 2, 2, 2), 2),
    ((1, 1, 3), (2, 2, 1), 3),  # bounded by the blocks' sizes (2 x 1 left of bond 1)
    ((1, 2, 2), (3, 1, 1), 3),  # bounded from the right
    ((6,), (5,), 1),  # a single core has no bond
])
def test_full_rank_bond_dim_is_the_least_that_gives_a_random_mpo_full_rank(in_dims, out_dims, expected):
    assert full_rank_bond_dim(in_dims, out_dims) == expected
    full = min(np.prod(in_dims), np.prod(out_dims))
    for bond_dim, full_rank in ((expected, True), (expected - 1, False)):
        if bond_dim >= 1:
            W = MPO.random(in_dims, out_dims, bond_dim, random_state=0, dtype=torch.float64).to_dense()
            assert (torch.linalg.matrix_rank(W) == full) == full_rank
