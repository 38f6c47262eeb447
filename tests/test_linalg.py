import numpy as np
import pytest
import torch

from skltnn._linalg import leading_svd, singular_values, svd, truncation_rank


def assert_is_thin_svd(matrix, u, s, vh):
    torch.testing.assert_close(u @ torch.diag(s) @ vh, matrix)
    eye = torch.eye(s.shape[0], dtype=matrix.dtype)
    torch.testing.assert_close(u.T @ u, eye)
    torch.testing.assert_close(vh @ vh.T, eye)
    assert torch.all(s[:-1] >= s[1:])


@pytest.mark.parametrize("shape", [(7, 5), (5, 5), (5, 7), (3, 40)])
def test_thin_svd_of_tall_square_and_wide_matrices(shape):
    matrix = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    u, s, vh = svd(matrix)
    assert u.shape == (shape[0], min(shape)) and vh.shape == (min(shape), shape[1])
    assert_is_thin_svd(matrix, u, s, vh)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(matrix.numpy(), compute_uv=False), rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("failure", ["error", "nan"])
@pytest.mark.parametrize("shape", [(7, 5), (5, 7)])
def test_falls_back_to_gesvd_when_the_torch_solver_fails(monkeypatch, dtype, failure, shape):
    matrix = torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(0))

    def failing_svd(a, full_matrices=True):
        if failure == "error":
            raise torch.linalg.LinAlgError("the algorithm failed to converge")
        u, s, vh = torch.linalg.svd.__wrapped__(a, full_matrices=full_matrices)
        return u, s * float("nan"), vh

    failing_svd.__wrapped__ = torch.linalg.svd
    monkeypatch.setattr(torch.linalg, "svd", failing_svd)
    u, s, vh = svd(matrix)
    assert all(t.dtype == dtype and t.device == matrix.device for t in (u, s, vh))
    assert_is_thin_svd(matrix, u, s, vh)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(matrix.double().numpy(), compute_uv=False), rtol=1e-5)


@pytest.mark.parametrize("failure", [None, "error", "nan"])
def test_singular_values_fall_back_to_the_robust_svd(monkeypatch, failure):
    matrix = torch.randn(7, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    svdvals = torch.linalg.svdvals

    def failing_svdvals(a):
        if failure == "error":
            raise torch.linalg.LinAlgError("the algorithm failed to converge")
        return svdvals(a) * (float("nan") if failure == "nan" else 1.0)

    monkeypatch.setattr(torch.linalg, "svdvals", failing_svdvals)
    np.testing.assert_allclose(singular_values(matrix).numpy(), np.linalg.svd(matrix.numpy(), compute_uv=False),
                               rtol=1e-12)


@pytest.mark.parametrize("function", [svd, singular_values])
def test_refuses_non_finite_input(function):
    with pytest.raises(FloatingPointError, match="NaN or infinite"):
        function(torch.tensor([[1.0, float("inf")], [0.0, 1.0]]))


def test_truncation_rank_keeps_at_most_bond_dim_above_the_relative_cutoff():
    s = torch.tensor([4.0, 2.0, 1.0, 0.01])
    assert truncation_rank(s) == 4
    assert truncation_rank(s, bond_dim=2) == 2
    assert truncation_rank(s, cutoff=0.1) == 3
    assert truncation_rank(s, bond_dim=8, cutoff=0.9) == 1
    assert truncation_rank(torch.zeros(3), cutoff=0.5) == 1


def matrix_with_spectrum(shape, spectrum, seed=0):
    g = torch.Generator().manual_seed(seed)
    u = torch.linalg.qr(torch.randn(shape[0], len(spectrum), dtype=torch.float64, generator=g)).Q
    v = torch.linalg.qr(torch.randn(shape[1], len(spectrum), dtype=torch.float64, generator=g)).Q
    return u @ torch.diag(spectrum) @ v.T


@pytest.mark.parametrize("spectrum", ["decaying", "flat"])
def test_leading_svd_of_a_large_matrix_is_near_the_best_truncation(spectrum):
    rank = 16
    if spectrum == "decaying":  # a bond tensor: a few large values, a small tail
        tail = 1e-3 * torch.rand(484, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        matrix = matrix_with_spectrum((600, 500), torch.cat([torch.logspace(1, -1, rank, dtype=torch.float64), tail]))
    else:  # Gaussian: the hardest case for a range finder
        matrix = torch.randn(600, 500, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    u, s, vh = leading_svd(matrix, rank)
    assert rank <= s.shape[0] < 500  # the randomized path
    eye = torch.eye(s.shape[0], dtype=torch.float64)
    torch.testing.assert_close(u.T @ u, eye)
    torch.testing.assert_close(vh @ vh.T, eye)
    exact = torch.linalg.svdvals(matrix)
    best = exact[rank:].square().sum().sqrt()
    error = (matrix - u[:, :rank] @ torch.diag(s[:rank]) @ vh[:rank]).norm()
    assert best <= error <= (1 + 1e-6 if spectrum == "decaying" else 1.02) * best
    torch.testing.assert_close(s[:rank], exact[:rank], rtol=1e-9 if spectrum == "decaying" else 0.1, atol=0)
    # Omega comes from its own seeded generator: the same result every time.
    again = leading_svd(matrix, rank)
    assert all(torch.equal(a, b) for a, b in zip((u, s, vh), again))


def test_leading_svd_of_a_small_matrix_is_the_exact_svd():
    matrix = torch.randn(100, 80, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip(leading_svd(matrix, 8), svd(matrix)))


def test_leading_svd_refuses_non_finite_input():
    matrix = torch.randn(600, 500, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    matrix[3, 4] = float("nan")
    with pytest.raises(FloatingPointError, match="NaN"):
        leading_svd(matrix, 16)
