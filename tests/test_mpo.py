import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skltnn import MPO
from skltnn._mpo import bond_spectra, max_bond_dims, right_orthonormalize

from ._reference import bond_matrix, brute_force_spectra, pad

ODD = dict(in_dims=(2, 3, 4), out_dims=(3, 2, 2))


def test_from_dense_is_exact_on_odd_shapes(rng):
    W = rng.normal(size=(24, 12))
    mpo = MPO.from_dense(W, **ODD)
    assert mpo.dtype == torch.float64 and mpo.shape == (24, 12)
    np.testing.assert_allclose(mpo.to_dense().numpy(), W, atol=1e-10)
    x = rng.normal(size=(7, 24))
    np.testing.assert_allclose(mpo.apply(x), x @ W, atol=1e-10)


def test_apply_takes_torch_and_returns_torch(rng):
    W = rng.normal(size=(24, 12))
    mpo = MPO.from_dense(torch.as_tensor(W), **ODD)
    y = mpo.apply(torch.as_tensor(rng.normal(size=(3, 24))))
    assert isinstance(y, torch.Tensor) and y.shape == (3, 12)


def test_apply_rejects_wrong_width(rng):
    mpo = MPO.from_dense(rng.normal(size=(24, 12)), **ODD)
    with pytest.raises(ValueError, match=r"shape \(batch, 24\)"):
        mpo.apply(np.zeros((3, 23)))


def test_float32_in_gives_float32_cores(rng):
    W = rng.normal(size=(24, 12)).astype(np.float32)
    assert MPO.from_dense(W, **ODD).dtype == torch.float32


def test_truncation_error_never_grows_with_bond_dim(rng):
    # A matrix with a decaying spectrum at every bond, as trained weights have.
    W = MPO.random((4, 4, 4), (4, 4, 4), 16, random_state=1, dtype=torch.float64).to_dense().numpy()
    W += 1e-2 * rng.normal(size=W.shape)
    errors = [
        np.linalg.norm(MPO.from_dense(W, (4, 4, 4), (4, 4, 4), bond_dim=d).to_dense().numpy() - W)
        for d in range(1, 17)
    ]
    assert all(b <= a + 1e-12 for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-10 * np.linalg.norm(W) + 1e-9 or errors[-1] <= errors[0]


def test_truncation_error_is_bounded_by_discarded_weight(rng):
    # Oseledets: ||W - W_tt||^2 <= sum over bonds of the squared discarded singular values.
    W = rng.normal(size=(24, 12))
    mpo = MPO.from_dense(W, **ODD, bond_dim=3)
    error = np.linalg.norm(mpo.to_dense().numpy() - W)
    discarded = sum(
        (np.linalg.svd(bond_matrix(W, ODD["in_dims"], ODD["out_dims"], b), compute_uv=False)[3:] ** 2).sum()
        for b in range(2)
    )
    assert error**2 <= discarded + 1e-10
    assert mpo.bond_dims == (3, 3)


def test_cutoff_drops_small_singular_values():
    # A Kronecker product of vectors: every bond needs one singular value only.
    u = np.kron(np.kron([1.0, 2.0], [1.0, 2.0, 3.0]), np.arange(1.0, 5.0))
    v = np.kron(np.kron([1.0, -1.0, 2.0], [3.0, 1.0]), [0.5, 1.0])
    mpo = MPO.from_dense(np.outer(u, v), **ODD, cutoff=1e-10)
    assert mpo.bond_dims == (1, 1)
    np.testing.assert_allclose(mpo.to_dense().numpy(), np.outer(u, v), rtol=1e-10)


def test_spectra_and_entropies_match_brute_force_svd(rng):
    W = rng.normal(size=(24, 12)) * np.linspace(2, 0.1, 12)
    mpo = MPO.from_dense(W, **ODD, bond_dim=None)
    expected = brute_force_spectra(W, ODD["in_dims"], ODD["out_dims"])
    for got, want in zip(mpo.singular_values(), expected):
        size = max(len(got), len(want))
        np.testing.assert_allclose(pad(got, size), pad(want, size), atol=1e-10)
        assert np.sum(got**2) == pytest.approx(1.0)
    entropies = [-(p[p > 0] * np.log(p[p > 0])).sum() for p in (s**2 for s in expected)]
    np.testing.assert_allclose(mpo.entanglement_entropy(), entropies, atol=1e-10)


def test_spectra_of_a_random_non_canonical_mpo_match_its_dense_matrix():
    mpo = MPO.random((2, 2, 3, 2), (3, 2, 2, 2), 5, random_state=0, dtype=torch.float64)
    W = mpo.to_dense().numpy()
    for got, want in zip(mpo.singular_values(), brute_force_spectra(W, mpo.in_dims, mpo.out_dims)):
        np.testing.assert_allclose(got, want[: len(got)], atol=1e-10)
        np.testing.assert_allclose(want[len(got):], 0, atol=1e-10)


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


@pytest.mark.parametrize("center", [0, 1, 2, -1])
def test_canonicalize_keeps_w_and_makes_isometries(center):
    mpo = MPO.random((2, 3, 4), (3, 2, 2), 4, random_state=3, dtype=torch.float64)
    canon = mpo.canonicalize(center)
    np.testing.assert_allclose(canon.to_dense().numpy(), mpo.to_dense().numpy(), atol=1e-12)
    c = center % 3
    for k, core in enumerate(canon.cores):
        if k < c:
            m = core.reshape(-1, core.shape[3])
            np.testing.assert_allclose((m.T @ m).numpy(), np.eye(m.shape[1]), atol=1e-12)
        elif k > c:
            m = core.reshape(core.shape[0], -1)
            np.testing.assert_allclose((m @ m.T).numpy(), np.eye(m.shape[0]), atol=1e-12)
    # The centre carries the whole norm.
    assert torch.linalg.norm(canon.cores[c]) == pytest.approx(np.linalg.norm(mpo.to_dense().numpy()))


def test_canonicalize_rejects_bad_center():
    mpo = MPO.random((2, 2), (2, 2), 2, random_state=0)
    with pytest.raises(ValueError, match="center"):
        mpo.canonicalize(2)


@pytest.mark.parametrize("n_cores", range(2, 13))
@pytest.mark.parametrize("bond_dim", [1, 4, 32])
def test_random_init_matches_dense_output_variance(n_cores, bond_dim):
    in_dims, out_dims = (2,) * n_cores, (2,) * min(n_cores, 6) + (1,) * max(0, n_cores - 6)
    n_in = 2**n_cores
    mpo = MPO.random(in_dims, out_dims, bond_dim, random_state=n_cores + bond_dim, dtype=torch.float64)
    x = torch.randn(4096, n_in, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    # A He-initialised dense layer of the same fan-in has E[y^2] = (2 / n_in) ||x||^2.
    var_dense = 2.0 * x.pow(2).mean().item()
    assert mpo.apply(x).pow(2).mean().item() == pytest.approx(var_dense, rel=0.2)
    # Exactly so in expectation over inputs: the entries of W have the He variance.
    assert mpo.to_dense().pow(2).mean().item() == pytest.approx(2.0 / n_in, rel=1e-6)


def test_random_respects_bond_dim_and_exact_limit():
    mpo = MPO.random((2, 2, 2, 2), (2, 2, 2, 2), 8, random_state=0)
    assert mpo.bond_dims == (4, 8, 4)
    assert max_bond_dims((2, 2, 2, 2), (2, 2, 2, 2)) == [4, 16, 4]


def test_random_state_is_reproducible():
    a = MPO.random((4, 4), (4, 4), 3, random_state=42)
    b = MPO.random((4, 4), (4, 4), 3, random_state=42)
    c = MPO.random((4, 4), (4, 4), 3, random_state=43)
    assert all(torch.equal(x, y) for x, y in zip(a.cores, b.cores))
    assert not torch.equal(a.cores[0], c.cores[0])


def test_parameter_count_and_compression_ratio():
    mpo = MPO.random((4, 4, 4), (4, 4, 4), 8, random_state=0)
    assert mpo.n_params == 16 * 8 + 8 * 16 * 8 + 8 * 16
    assert mpo.compression_ratio == pytest.approx(mpo.n_params / 64**2)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bond_dim_below_one_is_an_error(bad):
    with pytest.raises(ValueError, match="bond_dim must be an integer >= 1"):
        MPO.random((2, 2), (2, 2), bad)
    with pytest.raises(ValueError, match="bond_dim"):
        MPO.from_dense(np.eye(4), (2, 2), (2, 2), bond_dim=bad)


def test_dims_that_do_not_multiply_to_the_width_are_an_error():
    with pytest.raises(ValueError, match=r"in_dims=\(2, 2\) multiply to 4, not to the width 6"):
        MPO.from_dense(np.zeros((6, 4)), (2, 2), (2, 2))
    with pytest.raises(ValueError, match="equal length"):
        MPO.random((2, 2), (4,), 2)


def test_constructor_checks_core_shapes():
    with pytest.raises(ValueError, match="4-D"):
        MPO([np.zeros((2, 2))])
    with pytest.raises(ValueError, match="does not match"):
        MPO([np.zeros((1, 2, 2, 3)), np.zeros((2, 2, 2, 1))])
    with pytest.raises(ValueError, match="outer bonds"):
        MPO([np.zeros((2, 2, 2, 1))])


dims = st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(dims=dims, bond_dim=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_property_exact_roundtrip_and_spectra(dims, bond_dim, seed):
    in_dims, out_dims = zip(*dims)
    mpo = MPO.random(in_dims, out_dims, bond_dim, random_state=seed, dtype=torch.float64)
    W = mpo.to_dense().numpy()
    x = np.random.default_rng(seed).normal(size=(3, W.shape[0]))
    np.testing.assert_allclose(mpo.apply(x), x @ W, atol=1e-10)
    exact = MPO.from_dense(W, in_dims, out_dims)
    np.testing.assert_allclose(exact.to_dense().numpy(), W, atol=1e-10)
    # TT-SVD at the MPO's own bond dimension reproduces it exactly.
    again = MPO.from_dense(W, in_dims, out_dims, bond_dim=bond_dim)
    np.testing.assert_allclose(again.to_dense().numpy(), W, atol=1e-9)
    for got, want in zip(mpo.singular_values(), brute_force_spectra(W, in_dims, out_dims)):
        np.testing.assert_allclose(got, want[: len(got)], atol=1e-9)  # bonds never exceed the exact limit
        np.testing.assert_allclose(want[len(got):], 0, atol=1e-9)
    center = seed % len(in_dims)
    np.testing.assert_allclose(mpo.canonicalize(center).to_dense().numpy(), W, atol=1e-10)
