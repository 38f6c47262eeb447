"""Finite-safe SVD and the truncation rule shared by TT-SVD and the sweep."""

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
