"""Operations on a chain of MPO cores, shape (D_left, i_k, o_k, D_right):
checks of dims and bond dimensions, their arithmetic, canonical form,
bond spectra and truncation."""

import math
import numbers

import numpy as np
import torch
from sklearn.utils import check_random_state

from ._linalg import singular_values, svd, truncation_rank


def check_bond_dim(bond_dim, name="bond_dim", allow_none=False):
    if bond_dim is None and allow_none:
        return None
    if (
        isinstance(bond_dim, (bool, np.bool_))
        or not isinstance(bond_dim, numbers.Integral)
        or bond_dim < 1
    ):
        raise ValueError(f"{name} must be an integer >= 1, got {bond_dim!r}")
    return int(bond_dim)


def check_dims(in_dims, out_dims, n_in=None, n_out=None, *, pad=False):
    """Validate per-core dimensions and, if given, that they multiply to the
    widths (with ``pad``, to at least the widths: a padded layer)."""
    in_dims, out_dims = tuple(in_dims), tuple(out_dims)
    if len(in_dims) != len(out_dims) or not in_dims:
        raise ValueError(
            f"in_dims and out_dims must be non-empty and of equal length (one "
            f"pair per core), got {in_dims} and {out_dims}"
        )
    for name, dims, width in (("in_dims", in_dims, n_in), ("out_dims", out_dims, n_out)):
        if any(not isinstance(d, numbers.Integral) or d < 1 for d in dims):
            raise ValueError(f"{name} must be positive integers, got {dims}")
        if width is not None and (math.prod(dims) < width if pad else math.prod(dims) != width):
            raise ValueError(
                f"{name}={dims} multiply to {math.prod(dims)}, not to {'at least ' if pad else ''}the width {width}"
            )
    return tuple(map(int, in_dims)), tuple(map(int, out_dims))


def max_bond_dims(in_dims, out_dims, bond_dim=None):
    """Bond dimensions capped by ``bond_dim`` and by the exact limit.

    Bond k can never usefully exceed ``min(prod_{j<=k} i_j o_j, prod_{j>k} i_j o_j)``.
    """
    sizes = [i * o for i, o in zip(in_dims, out_dims)]
    dims = []
    for k in range(1, len(sizes)):
        exact = min(math.prod(sizes[:k]), math.prod(sizes[k:]))
        dims.append(exact if bond_dim is None else min(bond_dim, exact))
    return dims


def n_params_at(in_dims, out_dims, bond_dim):
    """The parameters of an MPO of these cores with every bond at
    ``bond_dim`` (or at its exact limit, where that is smaller)."""
    bonds = [1, *max_bond_dims(in_dims, out_dims, bond_dim), 1]
    return sum(bonds[k] * i * o * bonds[k + 1] for k, (i, o) in enumerate(zip(in_dims, out_dims)))


def full_rank_bond_dim(in_dims, out_dims):
    """The least bond dimension at which an MPO's W may have full rank.

    The left block of the first k cores is, for each index of bond k, a
    sum over bond k-1 of Kronecker products of the previous blocks with
    core k's matrices, so its rank is at most ``D_{k-1} r_{k-1} min(i_k,
    o_k)`` (and the block's own size); W is the last block, and the same
    holds from the right. A product operator (D = 1) thus has rank
    ``prod min(i_k, o_k)``: full with balanced cores (``i_k = o_k``),
    16 of 1024 for the cores (256, 4), (4, 256). The bound is exact for
    product operators; for a few other layouts (cores of (3, 5), (5, 3)
    among them) full rank needs a larger bond.
    """
    full = min(math.prod(in_dims), math.prod(out_dims))
    bond_dim = 1
    while _max_rank(in_dims, out_dims, bond_dim) < full:
        bond_dim += 1
    return bond_dim


def _max_rank(in_dims, out_dims, bond_dim):
    """The bound of :func:`full_rank_bond_dim` on the rank of W at ``bond_dim``."""
    bonds = [1, *max_bond_dims(in_dims, out_dims, bond_dim), 1]

    def from_left(ins, outs, bonds):
        rank = 1
        for k, (i, o) in enumerate(zip(ins, outs)):
            rank = min(math.prod(ins[:k + 1]), math.prod(outs[:k + 1]), bonds[k] * rank * min(i, o))
        return rank

    return min(from_left(in_dims, out_dims, bonds), from_left(in_dims[::-1], out_dims[::-1], bonds[::-1]))


def torch_generator(random_state):
    """A torch.Generator from a scikit-learn ``random_state`` (a Generator
    passes through); None -> torch's global RNG."""
    if random_state is None or isinstance(random_state, torch.Generator):
        return random_state
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return torch.Generator().manual_seed(int(seed))


def left_orthonormalize(cores, stop):
    """QR sweep making cores ``0..stop-1`` left-orthonormal; W is unchanged.

    Each core reshaped to (D_left i o) x D_right gets orthonormal columns and
    its R factor is pushed into the next core. Bonds larger than their exact
    limit shrink to it. Returns a new list.
    """
    cores = list(cores)
    for k in range(stop):
        d_left, i, o, _ = cores[k].shape
        q, r = torch.linalg.qr(cores[k].reshape(d_left * i * o, -1))
        cores[k] = q.reshape(d_left, i, o, q.shape[1])
        cores[k + 1] = torch.einsum("ab,bioc->aioc", r, cores[k + 1])
    return cores


def right_orthonormalize(cores, stop):
    """Mirror of :func:`left_orthonormalize`: cores ``stop+1..n-1`` right-orthonormal."""
    cores = list(cores)
    for k in range(len(cores) - 1, stop, -1):
        _, i, o, d_right = cores[k].shape
        q, r = torch.linalg.qr(cores[k].reshape(cores[k].shape[0], -1).T)
        cores[k] = q.T.reshape(q.shape[1], i, o, d_right)
        cores[k - 1] = torch.einsum("aioc,bc->aiob", cores[k - 1], r)
    return cores


def bond_spectra(cores, right_canonical=False):
    """Singular values of every bond, from the canonical form (W never built).

    Right-orthonormalise the cores after the first, then sweep left to
    right: with the cores right of a bond orthonormal, the bond's spectrum
    is that of the part on its left, whose R factor (QR of the centre
    reshaped (D_left i o) x D_right) carries it; R is pushed into the next
    core. A QR and the singular values of a small square R cost a fraction
    of an SVD of the centre.

    With ``right_canonical=True`` the caller guarantees that cores 1..n-1 are
    already right-orthonormal (the centre on core 0, as after a DMRG sweep);
    the left-to-right sweep then suffices.
    """
    if not right_canonical:
        cores = right_orthonormalize(cores, 0)
    spectra, centre = [], cores[0]
    for core in cores[1:]:
        _, r = torch.linalg.qr(centre.reshape(-1, centre.shape[3]), mode="r")
        spectra.append(singular_values(r))
        centre = (r @ core.reshape(core.shape[0], -1)).reshape(r.shape[0], *core.shape[1:])
    return spectra


def check_bond_dims(bond_dim, n_bonds):
    """One cap per bond (None: no cap) from an int, None or a sequence of them."""
    if not isinstance(bond_dim, (list, tuple, np.ndarray)):
        return [check_bond_dim(bond_dim, allow_none=True)] * n_bonds
    bond_dims = list(bond_dim)
    if len(bond_dims) != n_bonds:
        raise ValueError(f"bond_dim must be an int or one per bond ({n_bonds}), got {bond_dim!r}")
    return [check_bond_dim(d, allow_none=True) for d in bond_dims]


def truncation_sweep(cores, bond_dims, cutoff):
    """TT-rounding: truncated cores and the squared Frobenius error.

    Right-orthonormalise (QR sweep), then truncate each bond left to right
    by the SVD of its core, pushing ``S Vh`` into the next core. With the
    cores on the right orthonormal, each SVD is that of W unfolded at the
    bond, so this is TT-SVD of the dense matrix without forming it, and the
    discarded parts are orthogonal: the squared error is exactly the sum of
    the discarded squared singular values. The cores come out
    left-orthonormal, the norm in the last.
    """
    cores = right_orthonormalize(cores, 0)
    error = cores[0].new_zeros(())
    for k in range(len(cores) - 1):
        d_left, i, o, d_right = cores[k].shape
        u, s, vh = svd(cores[k].reshape(d_left * i * o, d_right))
        rank = truncation_rank(s, bond_dims[k], cutoff)
        error = error + s[rank:].square().sum()
        cores[k] = u[:, :rank].reshape(d_left, i, o, rank)
        cores[k + 1] = torch.einsum("ab,bioc->aioc", s[:rank, None] * vh[:rank], cores[k + 1])
    return cores, error
