import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from skltnn import MPO
from skltnn._cores import bond_spectra, check_bond_dims, max_bond_dims

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


# ------------------------------------------------------------ MPO arithmetic
def random_mpo(in_dims, out_dims, bond_dim, seed):
    return MPO.random(in_dims, out_dims, bond_dim, random_state=seed, dtype=torch.float64)


def structured_matrix(n_in, n_out):
    """A smooth kernel matrix: fast-decaying spectra at every bond."""
    i, o = np.arange(n_in)[:, None] / n_in, np.arange(n_out)[None, :] / n_out
    return np.exp(-3 * (i - o) ** 2) + np.cos(5 * i * o)


@pytest.mark.parametrize("bond_dim", [1, 2, 3, 5, [2, 4, 3], None])
@pytest.mark.parametrize("kind", ["random", "structured", "sum"])
def test_round_is_tt_svd_of_the_dense_matrix(kind, bond_dim):
    dims = dict(in_dims=(2, 3, 2, 2), out_dims=(2, 2, 3, 2))
    if kind == "random":
        mpo = random_mpo(**dims, bond_dim=6, seed=0)
    elif kind == "structured":
        mpo = MPO.from_dense(structured_matrix(24, 24), **dims)
    else:  # bonds of a sum are the sums of the bonds
        mpo = random_mpo(**dims, bond_dim=3, seed=1) + random_mpo(**dims, bond_dim=4, seed=2)
    W = mpo.to_dense()
    rounded = mpo.round(bond_dim)
    reference = MPO.from_dense(W, **dims, bond_dim=bond_dim)
    if bond_dim is not None:  # without a cap TT-SVD keeps zero singular values the QR sweep drops
        assert rounded.bond_dims == reference.bond_dims
    torch.testing.assert_close(rounded.to_dense(), reference.to_dense(), rtol=1e-9, atol=1e-9)
    # The error it reports is the error it makes, and no other MPO of these
    # bonds beats it by more than TT-SVD's bound: the discarded weight of
    # each unfolding, one at a time, is a lower bound for any of them.
    error = float((W - rounded.to_dense()).norm())
    assert mpo.truncation_error(bond_dim) == pytest.approx(error, rel=1e-6, abs=1e-10)
    caps = check_bond_dims(bond_dim, 3)
    tails = [float(s[cap:].square().sum().sqrt()) if cap else 0.0 for s, cap in zip(bond_spectra(mpo.cores), caps)]
    assert max(tails) - 1e-9 <= error <= np.sqrt(np.sum(np.square(tails))) + 1e-9


def test_round_with_a_cutoff_finds_the_true_bonds_of_a_sum():
    a = random_mpo((2, 2, 2, 2), (3, 2, 2, 3), bond_dim=3, seed=0)
    doubled = a + a
    assert doubled.bond_dims == (6, 6, 6)
    rounded = doubled.round(cutoff=1e-12)
    assert rounded.bond_dims == a.bond_dims
    torch.testing.assert_close(rounded.to_dense(), 2 * a.to_dense())


def test_round_and_norms_of_a_65536_square_mpo_never_form_w():
    # W would take 32 GiB in float64; every operation here works on the cores.
    dims = dict(in_dims=(4,) * 8, out_dims=(4,) * 8)
    a, b = random_mpo(**dims, bond_dim=8, seed=0), random_mpo(**dims, bond_dim=4, seed=1)
    total = a + 0.5 * b
    assert total.shape == (65536, 65536) and total.bond_dims == (12,) * 7
    assert total.norm() ** 2 == pytest.approx(a.norm() ** 2 + b.inner(a) + 0.25 * b.norm() ** 2, rel=1e-9)
    exact = total.round()
    assert exact.bond_dims == (12,) * 7 and (exact - total).norm() < 1e-9 * total.norm()
    rounded = total.round(8)
    assert rounded.bond_dims == (8,) * 7
    error = total.truncation_error(8)
    assert (rounded - total).norm() == pytest.approx(error, rel=1e-4)
    x = torch.randn(3, 65536, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(total.apply(x), a.apply(x) + 0.5 * b.apply(x))


def test_arithmetic_matches_dense(rng):
    a = MPO.from_dense(rng.normal(size=(24, 12)), **ODD, bond_dim=3)
    b = MPO.from_dense(rng.normal(size=(24, 12)), **ODD, bond_dim=2)
    A, B = a.to_dense(), b.to_dense()
    torch.testing.assert_close((a + b).to_dense(), A + B)
    torch.testing.assert_close((a - b).to_dense(), A - B)
    torch.testing.assert_close((-a).to_dense(), -A)
    torch.testing.assert_close((2.5 * a).to_dense(), 2.5 * A)
    torch.testing.assert_close((a * 2.5).to_dense(), 2.5 * A)
    torch.testing.assert_close((a / 4).to_dense(), A / 4)
    assert (a + b).bond_dims == (5, 5)
    assert a.norm() == pytest.approx(float(A.norm()), rel=1e-12)
    assert a.inner(b) == pytest.approx(float((A * B).sum()), rel=1e-10)
    single = MPO.from_dense(rng.normal(size=(6, 4)), in_dims=(6,), out_dims=(4,))
    torch.testing.assert_close((single + single).to_dense(), 2 * single.to_dense())


def test_arithmetic_needs_the_same_core_dims(rng):
    a = MPO.from_dense(rng.normal(size=(24, 12)), **ODD)
    b = MPO.from_dense(rng.normal(size=(24, 12)), in_dims=(4, 3, 2), out_dims=(3, 2, 2))
    with pytest.raises(ValueError, match="different core dimensions"):
        a + b
    with pytest.raises(ValueError, match="different core dimensions"):
        a.inner(b)
    with pytest.raises(TypeError):
        a + np.ones((24, 12))
    with pytest.raises(ValueError, match="bond_dim must be an int or one per bond"):
        a.round([2, 2, 2])
    with pytest.raises(ValueError, match="bond_dim must be an integer >= 1"):
        a.round(0)
