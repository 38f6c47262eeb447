"""``MPOLinear``: a drop-in for ``torch.nn.Linear`` whose weight is an MPO."""

import math

import torch
from torch import nn

from .._contract import BondEnvironment, BondMap, contraction_plan, merge_cores, merge_pair, mpo_matmul, squared_norm
from .._factorize import factorize_layer
from .._linalg import leading_svd, svd, truncation_rank
from .._mpo import (MPO, bond_spectra, check_bond_dim, check_dims, left_orthonormalize, right_orthonormalize,
                    torch_generator)
from ._base import TensorLayer, set_parameter


def resolve_dims(in_features, out_features, in_dims=None, out_dims=None):
    """Per-core dims for a layer: the user's (multiplying to at least the
    widths), else :func:`factorize_layer`'s."""
    if (in_dims is None) != (out_dims is None):
        given = "in_dims" if out_dims is None else "out_dims"
        raise ValueError(f"{given} was given without its counterpart; give both or neither")
    if in_dims is not None:
        return check_dims(in_dims, out_dims, in_features, out_features, pad=True)
    return factorize_layer(in_features, out_features)


def padded(x, width):
    """``x`` with zero columns appended up to ``width`` (itself when as wide)."""
    return x if x.shape[-1] == width else torch.nn.functional.pad(x, (0, width - x.shape[-1]))


def leading(y, width):
    """The first ``width`` columns of ``y`` (itself when as wide)."""
    return y if y.shape[-1] == width else y[..., :width]


class CoreChain:
    """A weight held as a chain of MPO cores (a bond tensor may stand for two).

    ``shape``: the layer's (in_features, out_features), the leading block of
    the cores' matrix (by default all of it).
    """

    def __init__(self, cores, shape=None):
        self.cores = cores
        self.mpo_shape = (math.prod(c.shape[1] for c in cores), math.prod(c.shape[2] for c in cores))
        self.shape = self.mpo_shape if shape is None else tuple(shape)

    def apply(self, x):
        return leading(mpo_matmul(padded(x, self.mpo_shape[0]), self.cores), self.shape[1])

    def apply_transpose(self, grad):
        transposed = [c.transpose(1, 2) for c in self.cores]
        return leading(mpo_matmul(padded(grad, self.mpo_shape[1]), transposed), self.shape[0])

    def affine(self, x, bias):
        return self.apply(x).add_(bias)


class _LeadingBondMap:
    """A :class:`BondMap` seen through a padded layer's leading block of W."""

    def __init__(self, bond_map, shape, mpo_shape):
        self.bond_map, self.shape, self.mpo_shape = bond_map, shape, mpo_shape

    def to_dense(self, bond):
        return self.bond_map.to_dense(bond)[:self.shape[0], :self.shape[1]]

    def adjoint(self, grad):
        pad = (0, self.mpo_shape[1] - self.shape[1], 0, self.mpo_shape[0] - self.shape[0])
        return self.bond_map.adjoint(torch.nn.functional.pad(grad, pad))


class _LeadingOutputs:
    """A :class:`BondEnvironment` of a padded layer: its outputs cut to the layer's."""

    def __init__(self, environment, out_features):
        self.environment, self.out_features = environment, out_features

    def apply(self, bond):
        return self.environment.apply(bond)[:, :self.out_features]


class MPOLinear(TensorLayer):
    """Linear layer ``y = x @ W + b`` with W held as an MPO.

    A drop-in for ``torch.nn.Linear`` (same input and output shapes, any
    number of leading batch dimensions) with far fewer parameters when the
    bond dimension is small. The forward pass follows the cheapest
    contraction plan (core by core, rebuilding W, or merging runs of cores
    first) by counted multiply-adds and memory traffic.

    Parameters
    ----------
    in_features, out_features : int
        Widths N_in and N_out.
    bond_dim : int, default=8
        Maximum bond dimension of the MPO.
    in_dims, out_dims : sequence of int, optional
        Per-core factorisations of the widths. Default: about one core per
        factor of 4 of the larger width, each width split by
        :func:`balanced_factors` and padded with ones where it has fewer
        prime factors (the rule of the estimators' TN layers too). Dims that
        multiply to more than a width pad the layer: the MPO's matrix is
        then larger, and the layer uses its leading ``in_features`` rows and
        ``out_features`` columns (the estimators pad a layer between two
        prime widths this way, 97 x 97 as 98 x 98).
    bias : bool, default=True
    init_std : float, optional
        Standard deviation of the entries of W at initialisation. Default
        ``1 / sqrt(3 in_features)``, the variance of ``nn.Linear``'s default.
    random_state : int, RandomState, torch.Generator or None
        Seed of the initialisation (cores and bias); None uses torch's
        global generator.
    device, dtype : where and in what precision the parameters live.

    Attributes
    ----------
    cores : torch.nn.ParameterList
        The MPO cores, shape (D_left, i_k, o_k, D_right).
    bias : torch.nn.Parameter or None
    bond_dim : int
        The largest bond dimension of the cores as they are now (a sweep or
        a truncation changes it; at most what the construction asked for,
        unless the cores were replaced).

    Examples
    --------
    >>> import torch
    >>> from skltnn import MPOLinear
    >>> layer = MPOLinear(256, 128, bond_dim=4)
    >>> layer(torch.randn(32, 256)).shape
    torch.Size([32, 128])
    """

    def __init__(self, in_features, out_features, bond_dim=8, *, in_dims=None, out_dims=None,
                 bias=True, init_std=None, random_state=None, device=None, dtype=None):
        super().__init__()
        in_dims, out_dims = resolve_dims(in_features, out_features, in_dims, out_dims)
        self.in_features, self.out_features = int(in_features), int(out_features)
        bond_dim = check_bond_dim(bond_dim)
        std = 1.0 / math.sqrt(3 * in_features) if init_std is None else init_std
        # One generator for cores and bias: a seeded layer leaves torch's global RNG alone.
        generator = torch_generator(random_state)
        mpo = MPO.random(in_dims, out_dims, bond_dim, std=std, random_state=generator,
                         dtype=dtype or torch.get_default_dtype(), device=device)
        self.cores = nn.ParameterList(nn.Parameter(c) for c in mpo.cores)
        if bias:
            bound = 1.0 / math.sqrt(in_features)
            values = torch.empty(out_features, dtype=mpo.dtype).uniform_(-bound, bound, generator=generator)
            self.bias = nn.Parameter(values.to(device))
        else:
            self.register_parameter("bias", None)

    @classmethod
    def from_mpo(cls, mpo, bias=None):
        """Wrap an :class:`MPO` (and an optional bias vector) as a layer."""
        layer = cls.__new__(cls)
        nn.Module.__init__(layer)
        layer.in_features, layer.out_features = mpo.shape
        layer.cores = nn.ParameterList(nn.Parameter(c.detach().clone()) for c in mpo.cores)
        if bias is None:
            layer.register_parameter("bias", None)
        else:
            bias = torch.as_tensor(bias, dtype=mpo.dtype, device=mpo.device)
            layer.bias = nn.Parameter(bias.detach().clone().reshape(layer.out_features))
        return layer

    @classmethod
    def from_linear(cls, linear, bond_dim=8, *, in_dims=None, out_dims=None, cutoff=0.0):
        """Compress a trained ``nn.Linear`` by TT-SVD of its weight.

        Parameters
        ----------
        linear : torch.nn.Linear
        bond_dim : int or None, default=8
            None keeps every singular value (exact).
        in_dims, out_dims : sequence of int, optional
            Per-core factorisations; default balanced.
        cutoff : float, default=0.0
            Relative singular-value cutoff, as in :meth:`MPO.from_dense`.

        Returns
        -------
        MPOLinear
        """
        in_dims, out_dims = resolve_dims(linear.in_features, linear.out_features, in_dims, out_dims)
        # nn.Linear computes x @ weight.T, so W = weight.T (zero rows and
        # columns beyond the layer's widths, if the dims pad it).
        W = linear.weight.detach().T
        W = torch.nn.functional.pad(W, (0, math.prod(out_dims) - W.shape[1], 0, math.prod(in_dims) - W.shape[0]))
        mpo = MPO.from_dense(W, in_dims, out_dims, bond_dim, cutoff)
        layer = cls.from_mpo(mpo)
        layer.in_features, layer.out_features = linear.in_features, linear.out_features
        if linear.bias is not None:
            layer.bias = nn.Parameter(linear.bias.detach().clone())
        return layer

    @property
    def mpo(self):
        """The weight as a detached :class:`MPO` (a copy); for a padded
        layer, the larger matrix whose leading block is the layer's W."""
        return MPO([c.detach().clone() for c in self.cores])

    @property
    def mpo_shape(self):
        """The shape of the MPO's matrix: ``(in_features, out_features)``, or
        larger for a padded layer."""
        return math.prod(c.shape[1] for c in self.cores), math.prod(c.shape[2] for c in self.cores)

    # ------------------------------------------------- the TensorLayer interface
    @property
    def n_bonds(self):
        return len(self.cores) - 1

    def weight(self):
        return CoreChain(list(self.cores), (self.in_features, self.out_features))

    def merge(self, bond):
        # In the layout of a merged core, (D_left, i1 i2, o1 o2, D_right), so
        # that a chain with it in place of the pair is again an MPO.
        return merge_pair(self.cores[bond].detach(), self.cores[bond + 1].detach())

    def _merged_shape(self, bond):
        (d_left, i1, o1, _), (_, i2, o2, d_right) = self.cores[bond].shape, self.cores[bond + 1].shape
        return d_left, i1 * i2, o1 * o2, d_right

    def dense_environment(self, bond, batch_size):
        cores = [c.detach() for c in self.cores]
        merged_shape = self._merged_shape(bond)
        shapes = [tuple(c.shape) for c in cores[:bond]] + [merged_shape] + [tuple(c.shape) for c in cores[bond + 2:]]
        if contraction_plan(tuple(shapes), batch_size) != ((0, len(shapes)),):
            return None
        with torch.no_grad():
            bond_map = BondMap(merge_cores(cores[:bond]) if bond else None,
                               merge_cores(cores[bond + 2:]) if bond + 2 < len(cores) else None, merged_shape)
        shape, mpo_shape = (self.in_features, self.out_features), self.mpo_shape
        return bond_map if shape == mpo_shape else _LeadingBondMap(bond_map, shape, mpo_shape)

    def bond_environment(self, bond, x):
        cores = [c.detach() for c in self.cores]
        n_in, n_out = self.mpo_shape
        environment = BondEnvironment(padded(x, n_in), cores[:bond], cores[bond + 2:], self._merged_shape(bond))
        return environment if n_out == self.out_features else _LeadingOutputs(environment, self.out_features)

    @torch.no_grad()
    def split(self, bond, tensor, *, direction, max_rank, cutoff):
        d_left, i1, o1, _ = self.cores[bond].shape
        _, i2, o2, d_right = self.cores[bond + 1].shape
        pair = tensor.reshape(d_left, i1, i2, o1, o2, d_right).permute(0, 1, 3, 2, 4, 5)
        matrix = pair.reshape(d_left * i1 * o1, i2 * o2 * d_right)
        u, s, vh = svd(matrix) if max_rank is None else leading_svd(matrix, max_rank)
        rank = truncation_rank(s, max_rank, cutoff)
        u, s, vh = u[:, :rank], s[:rank], vh[:rank]
        if direction == "right":  # U stays left-orthonormal, the centre moves right
            left, right = u, s[:, None] * vh
        else:
            left, right = u * s, vh
        set_parameter(self.cores, str(bond), left.reshape(d_left, i1, o1, rank))
        set_parameter(self.cores, str(bond + 1), right.reshape(rank, i2, o2, d_right))
        return s

    @torch.no_grad()
    def canonicalize(self, center):
        cores = left_orthonormalize([c.detach() for c in self.cores], center)
        cores = right_orthonormalize(cores, center)
        for k, core in enumerate(cores):
            set_parameter(self.cores, str(k), core)

    @torch.no_grad()
    def bond_spectra(self, center=None):
        if center not in (None, 0):
            raise ValueError("bond_spectra knows the canonical form around core 0 only")
        return bond_spectra([c.detach() for c in self.cores], right_canonical=center == 0)

    def squared_norm(self):
        # Of the MPO's whole matrix: in a padded layer an L2 penalty also
        # keeps the block that the layer does not use small.
        return squared_norm(list(self.cores))

    def to_dense(self):
        return self.mpo.to_dense()[:self.in_features, :self.out_features]

    @property
    def bond_dim(self):
        return max((core.shape[-1] for core in list(self.cores)[:-1]), default=1)

    def extra_repr(self):
        mpo_dims = tuple(c.shape[1:3] for c in self.cores)
        padding = "" if self.mpo_shape == (self.in_features, self.out_features) else f", padded to {self.mpo_shape}"
        return (
            f"in_features={self.in_features}, out_features={self.out_features}{padding}, "
            f"bond_dim={self.bond_dim}, dims={[tuple(d) for d in mpo_dims]}, "
            f"bias={self.bias is not None}"
        )
