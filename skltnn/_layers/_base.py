"""The interface of a hidden layer whose weight is a tensor network."""

from abc import ABC, abstractmethod

import torch
from torch import nn


class TensorLayer(nn.Module, ABC):
    """A layer whose weight, a matrix W of shape ``matrix_shape``, is a tensor network.

    W is held as cores joined by ``n_bonds`` bonds, numbered in the order a
    sweep visits them. How the layer applies W to its input (``x @ W`` for
    a linear layer, unfolded patches ``@ W`` for a convolution) is the
    subclass's ``forward``; the solvers see only W. The two-site sweep needs
    of a layer only what is declared here: merge the two cores at a bond
    into one bond tensor, use the layer with a bond tensor in their place,
    and split it back at a given rank, with the layer kept in canonical
    form so that the kept singular values are the bond's spectrum.

    A *weight* (what :meth:`weight` returns, and
    :class:`DenseWeight`) is any object with ``apply(x)`` (``x @ W``),
    ``apply_transpose(g)`` (``g @ W.T``) and ``affine(x, bias)``
    (``x @ W + bias``, outside autograd).

    Attributes
    ----------
    matrix_shape : tuple of int
        The shape (rows, columns) of W.
    bias : torch.nn.Parameter or None
    """

    @property
    @abstractmethod
    def n_bonds(self):
        """The number of bonds (the sweep needs at least one)."""

    @abstractmethod
    def weight(self):
        """The layer's own W as a weight (differentiable in its parameters)."""

    @abstractmethod
    def merge(self, bond):
        """The bond tensor: the two cores at ``bond`` contracted, detached."""

    @abstractmethod
    def dense_environment(self, bond, batch_size):
        """The linear map from a bond tensor to W (``to_dense``) and its
        adjoint (``adjoint``: dL/dW to dL/d tensor), when applying the layer as
        a dense W is the cheapest way for ``batch_size`` rows; else None."""

    @abstractmethod
    def bond_environment(self, bond, x):
        """``x @ W`` for a fixed batch ``x`` as a function of the bond tensor
        at ``bond``: an object whose ``apply(tensor)`` gives it
        (differentiable in ``tensor``), what does not depend on the tensor
        computed once."""

    @abstractmethod
    def split(self, bond, tensor, *, direction, max_rank, cutoff):
        """Split ``tensor`` back into the cores at ``bond`` by a truncated SVD.

        At most ``max_rank`` singular values are kept, none below ``cutoff``
        times the largest. The orthogonality centre moves with
        ``direction`` ('right': to the later core, 'left': to the earlier).
        Returns the kept singular values.
        """

    @abstractmethod
    def canonicalize(self, center):
        """Bring the cores to canonical form around core ``center`` (W unchanged)."""

    @abstractmethod
    def bond_spectra(self, center=None):
        """The singular values of every bond, W never formed.

        ``center``: a core around which the layer is known to be in canonical
        form already, which saves a sweep of QR decompositions.
        """

    @abstractmethod
    def squared_norm(self):
        """``||W||_F^2`` (differentiable), W never formed."""

    @abstractmethod
    def to_dense(self):
        """W as a dense tensor of shape ``matrix_shape``."""


class DenseWeight:
    """A weight held as its dense matrix W."""

    def __init__(self, matrix):
        self.matrix = matrix

    def apply(self, x):
        return x @ self.matrix

    def apply_transpose(self, grad):
        return grad @ self.matrix.t()

    def affine(self, x, bias):
        return torch.addmm(bias, x, self.matrix)


def set_parameter(module, name, value):
    """Give ``module``'s parameter ``name`` the value ``value``: in place when
    the shape is unchanged (an optimiser holding it stays valid), else as a
    new Parameter (a bond dimension changed)."""
    param = getattr(module, name)
    with torch.no_grad():
        if param.shape == value.shape:
            param.copy_(value)
        else:
            setattr(module, name, nn.Parameter(value.contiguous(), requires_grad=param.requires_grad))
