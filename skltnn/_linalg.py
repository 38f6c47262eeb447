"""Finite-safe SVDs and the truncation rule shared by TT-SVD and the sweep."""

import math

import scipy.linalg
import torch

from ._device import to_tensor


def svd(matrix):
    """Thin SVD ``matrix = U @ diag(S) @ Vh`` that refuses non-finite input.

    LAPACK's divide-and-conquer driver (and cuSOLVER) occasionally fail to
    converge on ill-conditioned matrices, by an error or, on a GPU, by NaN
    in the result; we then retry with the slower but robust QR-iteration
    driver ``gesvd`` in float64 on the CPU, and return to the input's
    device and dtype.
    """
    if matrix.device.type == "cpu" and matrix.shape[0] < matrix.shape[1]:
        # On the CPU torch's SVD of a wide matrix takes 1.5-3x as long as
        # that of its transpose: A = U S Vh is the transpose of A^T = V S U^T.
        v, s, uh = svd(matrix.t())
        return uh.t(), s, v.t()
    try:
        u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
        # One reduction and one synchronisation; an overflow in the sum only
        # sends a finite result to the slower, robust path.
        converged = math.isfinite(float(u.sum() + s.sum() + vh.sum()))
    except torch.linalg.LinAlgError:
        converged = False
    if not converged:
        if not torch.isfinite(matrix).all():
            raise FloatingPointError("cannot take the SVD of a tensor with NaN or infinite entries")
        u, s, vh = scipy.linalg.svd(
            matrix.detach().cpu().double().numpy(),
            full_matrices=False,
            lapack_driver="gesvd",
        )
        u, s, vh = (to_tensor(a, matrix.dtype, matrix.device) for a in (u, s, vh))
    return u, s, vh


def leading_svd(matrix, rank, oversample=10, power_iterations=2):
    """The leading singular triplets of ``matrix``, at least ``rank`` of
    them, by a randomized range finder where a full SVD would cost many
    times more.

    For a matrix much larger than ``rank`` (the sweep's bond tensor of a
    wide layer, 1024 x 1024 at bond_dim 32), the thin SVD of the projection
    of ``matrix`` onto an orthonormal basis Q of its dominant range replaces
    the full one (Halko, Martinsson & Tropp 2011, Algorithms 4.4 and 5.1):
    Q spans ``matrix @ Omega`` for a Gaussian Omega of ``rank + oversample``
    columns after ``power_iterations`` rounds of multiplying by the matrix
    and its transpose, which sharpen a slowly decaying spectrum. U = Q u
    and Vh keep orthonormal columns and rows, so a split stays canonical.
    Omega comes from a generator seeded afresh, so the result is
    deterministic. Otherwise :func:`svd` (exact, all triplets).
    """
    width = rank + oversample
    if min(matrix.shape) < 8 * width:
        return svd(matrix)
    generator = torch.Generator(device=matrix.device).manual_seed(0)
    omega = torch.randn(matrix.shape[1], width, generator=generator, dtype=matrix.dtype, device=matrix.device)
    basis = torch.linalg.qr(matrix @ omega).Q
    for _ in range(power_iterations):
        basis = torch.linalg.qr(matrix @ torch.linalg.qr(matrix.t() @ basis).Q).Q
    u, s, vh = svd(basis.t() @ matrix)
    return basis @ u, s, vh


def singular_values(matrix):
    """The singular values of ``matrix``, largest first, refusing non-finite
    input; :func:`svd`'s robust path when LAPACK's fails."""
    try:
        s = torch.linalg.svdvals(matrix)
        if math.isfinite(float(s.sum())):
            return s
    except torch.linalg.LinAlgError:
        pass
    return svd(matrix)[1]


def truncation_rank(s, bond_dim=None, cutoff=0.0):
    """Number of the singular values ``s`` (largest first) to keep.

    Keeps those above ``cutoff`` times the largest (relative cutoff, as in
    DMRG), at most ``bond_dim`` of them, and always at least one.
    """
    rank = int((s > cutoff * s[0]).sum()) if cutoff > 0 else s.shape[0]
    if bond_dim is not None:
        rank = min(rank, bond_dim)
    return max(rank, 1)
