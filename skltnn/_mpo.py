"""The matrix product operator (MPO): a weight matrix held as a chain of cores."""

import math
import numbers

import numpy as np
import torch

from ._contract import cores_to_dense, inner, mpo_matmul, squared_norm
from ._cores import (bond_spectra, check_bond_dim, check_bond_dims, check_dims, left_orthonormalize,
                     max_bond_dims, right_orthonormalize, torch_generator, truncation_sweep)
from ._entanglement import bond_entropies, normalized_spectrum
from ._linalg import svd, truncation_rank


class MPO:
    """A weight matrix ``W`` of shape (N_in, N_out) stored as an MPO.

    ``W[(i_1..i_n), (o_1..o_n)] = sum_a w1[1,i_1,o_1,a_1] w2[a_1,i_2,o_2,a_2] ... wn[a_{n-1},i_n,o_n,1]``
    with C-order multi-indices, so ``x @ W`` is the layer's linear map.

    Parameters
    ----------
    cores : sequence of array-like
        Core k has shape ``(D_{k-1}, i_k, o_k, D_k)`` with ``D_0 = D_n = 1``.
        Numpy arrays are converted to torch tensors (their dtype is kept).

    Attributes
    ----------
    cores : list of torch.Tensor
    in_dims, out_dims : tuple of int
    bond_dims : tuple of int
        The n-1 inner bond dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> from skltnn import MPO
    >>> W = np.random.default_rng(0).normal(size=(64, 27))
    >>> mpo = MPO.from_dense(W, in_dims=(4, 4, 4), out_dims=(3, 3, 3), bond_dim=6)
    >>> mpo.bond_dims, round(mpo.compression_ratio, 3)
    ((6, 6), 0.333)
    """

    def __init__(self, cores):
        cores = [c if isinstance(c, torch.Tensor) else torch.as_tensor(np.asarray(c)) for c in cores]
        if not cores:
            raise ValueError("an MPO needs at least one core")
        for k, core in enumerate(cores):
            if core.ndim != 4:
                raise ValueError(
                    f"core {k} must be 4-D (D_left, i, o, D_right), got shape {tuple(core.shape)}"
                )
            if k > 0 and core.shape[0] != cores[k - 1].shape[3]:
                raise ValueError(
                    f"bond between cores {k - 1} and {k} does not match: "
                    f"{cores[k - 1].shape[3]} != {core.shape[0]}"
                )
        if cores[0].shape[0] != 1 or cores[-1].shape[3] != 1:
            raise ValueError("the outer bonds of an MPO must have dimension 1")
        self.cores = cores

    # ---------------------------------------------------------------- builders
    @classmethod
    def random(cls, in_dims, out_dims, bond_dim, *, std=None, random_state=None,
               dtype=torch.float32, device=None):
        """A random MPO whose entries have the variance of a dense initialisation.

        The cores are Gaussian and then rescaled together so that
        ``||W||_F^2 = std^2 N_in N_out`` exactly. Without this, the product of
        n random cores has a variance that grows or shrinks geometrically with
        n and fluctuates from draw to draw.

        Parameters
        ----------
        in_dims, out_dims : sequence of int
            Per-core input and output dimensions (same length).
        bond_dim : int
            Maximum bond dimension (capped by the exact limit per bond).
        std : float, optional
            Target standard deviation of the entries of W. Default: He,
            ``sqrt(2 / N_in)``.
        random_state : int, RandomState instance, torch.Generator or None
            None uses torch's global generator (as ``torch.nn.Linear`` does).
        dtype, device : torch dtype and device of the cores.

        Returns
        -------
        MPO
        """
        in_dims, out_dims = check_dims(in_dims, out_dims)
        bond_dim = check_bond_dim(bond_dim)
        n_in, n_out = math.prod(in_dims), math.prod(out_dims)
        std = math.sqrt(2.0 / n_in) if std is None else float(std)
        bonds = [1, *max_bond_dims(in_dims, out_dims, bond_dim), 1]
        generator = torch_generator(random_state)
        cores = []
        for k, (i, o) in enumerate(zip(in_dims, out_dims)):
            shape = (bonds[k], i, o, bonds[k + 1])
            # Unit expected norm per core keeps float32 far from overflow.
            scale = 1.0 / math.sqrt(i * o * math.sqrt(bonds[k] * bonds[k + 1]))
            core = torch.randn(shape, generator=generator, dtype=torch.float64, device="cpu") * scale
            cores.append(core)
        norm = math.sqrt(float(squared_norm(cores)))
        factor = (std * math.sqrt(n_in * n_out) / norm) ** (1.0 / len(cores))
        return cls([(c * factor).to(device=device, dtype=dtype) for c in cores])

    @classmethod
    def from_dense(cls, W, in_dims, out_dims, bond_dim=None, cutoff=0.0):
        """Compress a dense matrix by TT-SVD (sequential truncated SVDs).

        With ``bond_dim=None`` and ``cutoff=0`` the result is exact. The cores
        come out left-orthonormal, with the norm in the last core.

        Parameters
        ----------
        W : array-like or torch.Tensor of shape (N_in, N_out)
            Its dtype is kept (float64 in gives float64 cores).
        in_dims, out_dims : sequence of int
            Factorisations of N_in and N_out, one pair per core.
        bond_dim : int, sequence of int or None
            Maximum bond dimension, for all bonds or one per bond; None keeps
            every singular value.
        cutoff : float
            Drop singular values below ``cutoff`` times the largest at that bond.

        Returns
        -------
        MPO
        """
        W = W if isinstance(W, torch.Tensor) else torch.as_tensor(np.asarray(W))
        if W.ndim != 2:
            raise ValueError(f"W must be a 2-D matrix, got shape {tuple(W.shape)}")
        in_dims, out_dims = check_dims(in_dims, out_dims, *W.shape)
        n = len(in_dims)
        bond_dims = check_bond_dims(bond_dim, n - 1)
        if cutoff < 0:
            raise ValueError(f"cutoff must be >= 0, got {cutoff}")
        # Interleave to (i_1, o_1, i_2, o_2, ...) so that each bond is one reshape.
        order = [p for k in range(n) for p in (k, n + k)]
        rest = W.detach().reshape(*in_dims, *out_dims).permute(*order).reshape(1, -1)
        cores, d_left = [], 1
        for i, o, cap in zip(in_dims[:-1], out_dims[:-1], bond_dims):
            u, s, vh = svd(rest.reshape(d_left * i * o, -1))
            rank = truncation_rank(s, cap, cutoff)
            cores.append(u[:, :rank].reshape(d_left, i, o, rank))
            rest = s[:rank, None] * vh[:rank]
            d_left = rank
        cores.append(rest.reshape(d_left, in_dims[-1], out_dims[-1], 1))
        return cls([c.contiguous() for c in cores])

    # -------------------------------------------------------------- properties
    @property
    def in_dims(self):
        return tuple(c.shape[1] for c in self.cores)

    @property
    def out_dims(self):
        return tuple(c.shape[2] for c in self.cores)

    @property
    def bond_dims(self):
        return tuple(c.shape[3] for c in self.cores[:-1])

    @property
    def shape(self):
        """(N_in, N_out) of the dense matrix."""
        return math.prod(self.in_dims), math.prod(self.out_dims)

    @property
    def n_params(self):
        return sum(c.numel() for c in self.cores)

    @property
    def compression_ratio(self):
        """Gao et al.'s rho: MPO parameters over dense parameters N_in * N_out."""
        return self.n_params / math.prod(self.shape)

    @property
    def dtype(self):
        return self.cores[0].dtype

    @property
    def device(self):
        return self.cores[0].device

    # ------------------------------------------------------------- operations
    def to_dense(self):
        """The dense matrix W, shape (N_in, N_out), as a torch tensor."""
        return cores_to_dense(self.cores)

    def apply(self, x):
        """``x @ W`` for a batch x of shape (B, N_in).

        Follows the cheapest contraction plan (core by core, rebuilding W, or
        a mix) by counted multiply-adds and memory traffic. Numpy in gives
        numpy out; torch in, torch out.
        """
        is_numpy = not isinstance(x, torch.Tensor)
        xt = torch.as_tensor(np.asarray(x), dtype=self.dtype, device=self.device) if is_numpy else x
        if xt.ndim != 2 or xt.shape[1] != self.shape[0]:
            raise ValueError(
                f"x must have shape (batch, {self.shape[0]}), got {tuple(xt.shape)}"
            )
        y = mpo_matmul(xt, self.cores)
        return y.detach().cpu().numpy() if is_numpy else y

    def to(self, *args, **kwargs):
        """A copy with cores moved or cast as by ``torch.Tensor.to``."""
        return MPO([c.to(*args, **kwargs) for c in self.cores])

    def round(self, bond_dim=None, cutoff=0.0):
        """The best MPO of smaller bonds, by TT-rounding (W is never formed).

        A QR sweep and a sweep of truncated SVDs give the same matrix as
        :meth:`from_dense` of ``to_dense()`` at the same ``bond_dim`` and
        ``cutoff`` (TT-SVD), at a cost linear in the number of cores. Use it
        to compress a sum of MPOs, whose bonds add.

        Parameters
        ----------
        bond_dim : int, sequence of int or None
            Maximum bond dimension, for all bonds or one per bond; None keeps
            every singular value (with ``cutoff``, those that matter: e.g.
            ``cutoff=1e-12`` after a sum finds its true bonds).
        cutoff : float
            Drop singular values below ``cutoff`` times the largest at that bond.

        Returns
        -------
        MPO
            Left-orthonormal cores, the norm in the last.
        """
        return MPO(self._truncated(bond_dim, cutoff)[0])

    def truncation_error(self, bond_dim=None, cutoff=0.0):
        """``||W - W_r||_F`` of ``W_r = self.round(bond_dim, cutoff)``, exactly.

        The root of the sum of the squared singular values that :meth:`round`
        discards (its SVDs are those of W's unfoldings, and the parts it
        discards are orthogonal). Divide by :meth:`norm` for the relative error.
        """
        return math.sqrt(max(float(self._truncated(bond_dim, cutoff)[1]), 0.0))

    def _truncated(self, bond_dim, cutoff):
        if cutoff < 0:
            raise ValueError(f"cutoff must be >= 0, got {cutoff}")
        return truncation_sweep([c.detach() for c in self.cores],
                                check_bond_dims(bond_dim, len(self.cores) - 1), cutoff)

    def norm(self):
        """Frobenius norm of W (W is never formed).

        That of the last core after a QR sweep: accurate to rounding relative
        to the cores' scale, so the norm of a difference ``(a - b).norm()`` is
        meaningful down to ~1e-15 of ``a.norm()`` (the sum of squares ``inner``
        loses half the digits there).
        """
        cores = left_orthonormalize([c.detach() for c in self.cores], len(self.cores) - 1)
        return float(torch.linalg.vector_norm(cores[-1]))

    def inner(self, other):
        """Frobenius inner product ``sum(W_self * W_other)`` (neither is formed)."""
        return float(inner(*self._aligned_cores(other)))

    def _aligned_cores(self, other):
        """Both MPOs' detached cores in their common dtype, on this MPO's
        device, after checking that their core dimensions match."""
        if not isinstance(other, MPO):
            raise TypeError(f"expected an MPO, got {type(other).__name__}")
        if (self.in_dims, self.out_dims) != (other.in_dims, other.out_dims):
            raise ValueError(
                f"the MPOs have different core dimensions: in_dims {self.in_dims} and {other.in_dims}, "
                f"out_dims {self.out_dims} and {other.out_dims}"
            )
        dtype = torch.promote_types(self.dtype, other.dtype)
        return ([c.detach().to(dtype) for c in self.cores],
                [c.detach().to(dtype=dtype, device=self.device) for c in other.cores])

    def __add__(self, other):
        """The MPO of ``W_self + W_other``: cores stacked block-diagonally, so
        bonds add; :meth:`round` compresses it."""
        if not isinstance(other, MPO):
            return NotImplemented
        a, b = self._aligned_cores(other)
        if len(a) == 1:
            return MPO([a[0] + b[0]])
        cores = [torch.cat([a[0], b[0]], dim=3)]
        for x, y in zip(a[1:-1], b[1:-1]):
            core = x.new_zeros(x.shape[0] + y.shape[0], x.shape[1], x.shape[2], x.shape[3] + y.shape[3])
            core[:x.shape[0], :, :, :x.shape[3]] = x
            core[x.shape[0]:, :, :, x.shape[3]:] = y
            cores.append(core)
        cores.append(torch.cat([a[-1], b[-1]], dim=0))
        return MPO(cores)

    def __mul__(self, scalar):
        """``scalar * W``: the first core scaled."""
        if not isinstance(scalar, numbers.Number) or isinstance(scalar, (bool, np.bool_)):
            return NotImplemented
        return MPO([self.cores[0].detach() * scalar] + [c.detach() for c in self.cores[1:]])

    __rmul__ = __mul__

    def __truediv__(self, scalar):
        if not isinstance(scalar, numbers.Number):
            return NotImplemented
        return self * (1.0 / scalar)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        if not isinstance(other, MPO):
            return NotImplemented
        return self + (-other)

    def canonicalize(self, center):
        """An equal MPO in mixed-canonical form around core ``center``.

        Cores left of the centre are left-orthonormal, cores right of it
        right-orthonormal (QR sweeps); ``to_dense()`` is unchanged.
        """
        n = len(self.cores)
        if not isinstance(center, numbers.Integral) or not -n <= center < n:
            raise ValueError(f"center must be a core index in [0, {n}), got {center!r}")
        center %= n
        cores = left_orthonormalize(self.cores, center)
        return MPO(right_orthonormalize(cores, center))

    def singular_values(self):
        """Normalised singular values of each bond (squares sum to 1).

        Returns
        -------
        list of ndarray
            One 1-D array per bond, in decreasing order; bond k lies between
            cores k and k+1, i.e. W viewed with rows (i_1 o_1 ... i_k+1 o_k+1).
        """
        return [normalized_spectrum(s.detach().cpu().numpy()) for s in bond_spectra(self.cores)]

    def entanglement_entropy(self):
        """Entanglement entropy ``S = -sum p ln p`` of each bond, shape (n-1,)."""
        return bond_entropies(self.singular_values())

    def __repr__(self):
        return (
            f"MPO(in_dims={self.in_dims}, out_dims={self.out_dims}, "
            f"bond_dims={self.bond_dims}, dtype={self.dtype})"
        )
