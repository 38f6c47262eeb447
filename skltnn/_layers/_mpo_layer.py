"""``MPOLayer``: the tensor format of every MPO layer, apart from how a layer applies it.

A layer type (linear, convolution, lookup) is a subclass that says how its
input meets the matrix W (``x @ W``, unfolded patches ``@ W``, rows of W)
and how it converts from and to the torch module it replaces; the cores,
their merging and splitting, canonical form, spectra and rounding live here
once.
"""

import math

import torch
from torch import nn

from .._contract import (BondEnvironment, BondMap, contraction_plan, merge_cores, merge_pair, mpo_matmul,
                         planned_supercores, squared_norm)
from .._cores import bond_spectra, check_bond_dim, check_dims, left_orthonormalize, right_orthonormalize
from .._factorize import factorize_layer
from .._linalg import leading_svd, svd, truncation_rank
from .._mpo import MPO
from ._base import TensorLayer, set_parameter


def resolve_dims(n_rows, n_cols, in_dims=None, out_dims=None, default=factorize_layer):
    """Per-core dims for an ``n_rows x n_cols`` matrix: the user's
    (multiplying to at least its shape), else ``default(n_rows, n_cols)``."""
    if (in_dims is None) != (out_dims is None):
        given = "in_dims" if out_dims is None else "out_dims"
        raise ValueError(f"{given} was given without its counterpart; give both or neither")
    if in_dims is not None:
        return check_dims(in_dims, out_dims, n_rows, n_cols, pad=True)
    return default(n_rows, n_cols)


def padded(x, width):
    """``x`` with zero columns appended up to ``width`` (itself when as wide)."""
    return x if x.shape[-1] == width else torch.nn.functional.pad(x, (0, width - x.shape[-1]))


def padded_mpo(W, in_dims, out_dims, bond_dim=None, cutoff=0.0):
    """TT-SVD of ``W`` with zero rows and columns appended up to the cores'
    matrix (a padded layer's W is its leading block)."""
    W = torch.nn.functional.pad(W, (0, math.prod(out_dims) - W.shape[1], 0, math.prod(in_dims) - W.shape[0]))
    return MPO.from_dense(W, in_dims, out_dims, bond_dim, cutoff)


def leading(y, width):
    """The first ``width`` columns of ``y`` (itself when as wide)."""
    return y if y.shape[-1] == width else y[..., :width]


class CoreChain:
    """A weight held as a chain of MPO cores (a bond tensor may stand for two).

    ``shape``: the layer's matrix shape, the leading block of the cores'
    matrix (by default all of it). ``merge(cores, batch)``: the super-cores
    of the contraction plan for a batch (by default merged on each call).
    """

    def __init__(self, cores, shape=None, merge=planned_supercores):
        self.cores, self.merge = cores, merge
        self.mpo_shape = (math.prod(c.shape[1] for c in cores), math.prod(c.shape[2] for c in cores))
        self.shape = self.mpo_shape if shape is None else tuple(shape)

    def apply(self, x):
        return leading(mpo_matmul(padded(x, self.mpo_shape[0]), self.cores, self.merge), self.shape[1])

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

    def __init__(self, environment, n_cols):
        self.environment, self.n_cols = environment, n_cols

    def apply(self, bond):
        return self.environment.apply(bond)[:, :self.n_cols]


class MPOLayer(TensorLayer):
    """A layer whose matrix W (``matrix_shape``) is held as MPO cores.

    Everything a solver or :func:`~skltnn.compress` does to the weight is
    here: the cores as parameters, merging two into a bond tensor and
    splitting it back, canonical form, spectra, norm and the dense matrix.
    A subclass says how the layer applies W (``forward``) and, to be a
    target of ``compress``, how it converts a dense torch module
    (:meth:`dense_matrix`, :meth:`unsupported`, :meth:`from_module_mpo`)
    and registers itself (:func:`~skltnn._layers.register`).

    When the cores' dims multiply to more than ``matrix_shape`` (a
    *padded* layer), W is the leading block of the cores' matrix.

    Attributes
    ----------
    cores : torch.nn.ParameterList
        The MPO cores, shape (D_left, i_k, o_k, D_right).
    matrix_shape : tuple of int
        The shape (rows, columns) of W.
    """

    # ------------------------------------------------------------ construction
    @classmethod
    def default_dims(cls, n_rows, n_cols):
        """The per-core dims of W when none are given (:func:`factorize_layer`)."""
        return factorize_layer(n_rows, n_cols)

    def _init_cores(self, matrix_shape, bond_dim, in_dims, out_dims, std, generator, dtype, device):
        """Random cores whose W has entries of standard deviation ``std``."""
        in_dims, out_dims = resolve_dims(*matrix_shape, in_dims, out_dims, self.default_dims)
        mpo = MPO.random(in_dims, out_dims, check_bond_dim(bond_dim), std=std, random_state=generator,
                         dtype=dtype or torch.get_default_dtype(), device=device)
        self.matrix_shape = tuple(matrix_shape)
        self.cores = nn.ParameterList(nn.Parameter(c) for c in mpo.cores)
        self.register_parameter("bias", None)

    def _set_bias(self, bias, size, generator=None, fan_in=None, dtype=None, device=None):
        """``bias`` True: uniform in +-1/sqrt(fan_in), as torch's layers; a
        tensor: a copy of it; False or None: no bias."""
        if bias is None or bias is False:
            self.register_parameter("bias", None)
        elif bias is True:
            bound = 1.0 / math.sqrt(fan_in)
            values = torch.empty(size, dtype=dtype or torch.get_default_dtype()).uniform_(-bound, bound,
                                                                                         generator=generator)
            self.bias = nn.Parameter(values.to(device))
        else:
            self.bias = nn.Parameter(torch.as_tensor(bias).detach().clone().reshape(size))

    @classmethod
    def wrap_mpo(cls, mpo, matrix_shape=None):
        """A layer of this type around a copy of the cores of ``mpo``, with
        no bias; its other attributes are the caller's to set (for the
        constructors of a subclass that bypass ``__init__``).
        ``matrix_shape``: W's shape, when the MPO's matrix pads it."""
        layer = cls.__new__(cls)
        nn.Module.__init__(layer)
        layer.cores = nn.ParameterList(nn.Parameter(c.detach().clone()) for c in mpo.cores)
        layer.matrix_shape = tuple(mpo.shape if matrix_shape is None else matrix_shape)
        layer.register_parameter("bias", None)
        return layer

    # ------------------------------------------------- conversion (compress)
    @classmethod
    def dense_matrix(cls, module):
        """The matrix W (rows, columns) of the dense torch ``module`` this type replaces."""
        raise NotImplementedError(f"{cls.__name__} does not convert dense modules")

    @classmethod
    def unsupported(cls, module):
        """Why ``module`` cannot be converted (a sentence naming the option), or None."""
        return None

    @classmethod
    def from_module_mpo(cls, module, mpo):
        """The layer that stands for ``module`` with W held by ``mpo`` (whose
        leading block approximates :meth:`dense_matrix`); the module's bias
        and options copied."""
        raise NotImplementedError(f"{cls.__name__} does not convert dense modules")

    @classmethod
    def from_module(cls, module, bond_dim=8, *, in_dims=None, out_dims=None, cutoff=0.0):
        """Compress the dense ``module`` by TT-SVD of :meth:`dense_matrix`."""
        reason = cls.unsupported(module)
        if reason:
            raise ValueError(f"{cls.__name__} cannot stand for {type(module).__name__}: {reason}")
        W = cls.dense_matrix(module).detach()
        in_dims, out_dims = resolve_dims(*W.shape, in_dims, out_dims, cls.default_dims)
        return cls.from_module_mpo(module, padded_mpo(W, in_dims, out_dims, bond_dim, cutoff))

    # ------------------------------------------------------------- the format
    @property
    def mpo(self):
        """The cores as a detached :class:`MPO` (a copy); for a padded layer,
        the larger matrix whose leading block is W."""
        return MPO([c.detach().clone() for c in self.cores])

    @property
    def mpo_shape(self):
        """The shape of the cores' matrix: ``matrix_shape``, or larger for a padded layer."""
        return math.prod(c.shape[1] for c in self.cores), math.prod(c.shape[2] for c in self.cores)

    @property
    def bond_dim(self):
        """The largest bond dimension of the cores as they are now."""
        return max((core.shape[-1] for core in list(self.cores)[:-1]), default=1)

    @property
    def n_params(self):
        """The number of core entries."""
        return sum(c.numel() for c in self.cores)

    @property
    def n_bonds(self):
        return len(self.cores) - 1

    def weight(self):
        cores = list(self.cores)
        # Outside autograd (inference) the plan's super-cores are kept between calls.
        merge = planned_supercores if torch.is_grad_enabled() else self._kept_supercores
        return CoreChain(cores, self.matrix_shape, merge)

    def _kept_supercores(self, cores, batch):
        """The plan's super-cores for ``batch`` rows, merged once while the
        cores do not change, when together they hold no more entries than
        the cores (so that inference memory stays within twice the MPO's);
        merged on each call otherwise."""
        versions = tuple((c.data_ptr(), c._version) for c in cores)
        kept = self.__dict__.get("_supercores")
        if kept is None or kept[0] != versions:
            kept = self.__dict__["_supercores"] = (versions, {})
        plan = contraction_plan(tuple(tuple(c.shape) for c in cores), batch)
        if plan not in kept[1]:
            supers = planned_supercores(cores, batch)
            if sum(s.numel() for s in supers) > sum(c.numel() for c in cores):
                return supers
            kept[1][plan] = supers
        return kept[1][plan]

    def __getstate__(self):
        # The kept super-cores are a cache: not pickled or deep-copied.
        state = dict(super().__getstate__())
        state.pop("_supercores", None)
        return state

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
        shape, mpo_shape = self.matrix_shape, self.mpo_shape
        return bond_map if shape == mpo_shape else _LeadingBondMap(bond_map, shape, mpo_shape)

    def bond_environment(self, bond, x):
        cores = [c.detach() for c in self.cores]
        n_in, n_out = self.mpo_shape
        environment = BondEnvironment(padded(x, n_in), cores[:bond], cores[bond + 2:], self._merged_shape(bond))
        return environment if n_out == self.matrix_shape[1] else _LeadingOutputs(environment, self.matrix_shape[1])

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

    @torch.no_grad()
    def round(self, bond_dim=None, cutoff=0.0):
        """Truncate every bond to at most ``bond_dim`` (and drop singular
        values below ``cutoff`` times the largest), in place, by an SVD sweep;
        returns the relative Frobenius error of the cores' matrix."""
        before = self.mpo
        after = before.round(bond_dim, cutoff)
        for k, core in enumerate(after.cores):
            set_parameter(self.cores, str(k), core)
        norm = float(before.norm())
        return float((before - after).norm()) / norm if norm else 0.0

    def squared_norm(self):
        # Of the cores' whole matrix: in a padded layer an L2 penalty also
        # keeps the block that the layer does not use small.
        return squared_norm(list(self.cores))

    def to_dense(self):
        return self.mpo.to_dense()[:self.matrix_shape[0], :self.matrix_shape[1]]

    def _dims_repr(self):
        mpo_dims = [tuple(c.shape[1:3]) for c in self.cores]
        padding = "" if self.mpo_shape == self.matrix_shape else f", padded to {self.mpo_shape}"
        return f"bond_dim={self.bond_dim}, dims={mpo_dims}{padding}"
