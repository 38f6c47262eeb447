"""``MPOLinear``: a drop-in for ``torch.nn.Linear`` whose weight is an MPO."""

import math

import torch
from torch import nn

from .._cores import torch_generator
from ._mpo_layer import MPOLayer
from ._registry import register


@register(nn.Linear)
class MPOLinear(MPOLayer):
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
        self.in_features, self.out_features = int(in_features), int(out_features)
        std = 1.0 / math.sqrt(3 * in_features) if init_std is None else init_std
        # One generator for cores and bias: a seeded layer leaves torch's global RNG alone.
        generator = torch_generator(random_state)
        self._init_cores((self.in_features, self.out_features), bond_dim, in_dims, out_dims, std, generator,
                         dtype, device)
        self._set_bias(bias, self.out_features, generator, in_features, self.cores[0].dtype, device)

    @classmethod
    def from_mpo(cls, mpo, bias=None):
        """Wrap an :class:`MPO` (and an optional bias vector) as a layer."""
        layer = cls.wrap_mpo(mpo)
        layer.in_features, layer.out_features = mpo.shape
        layer._set_bias(None if bias is None else torch.as_tensor(bias, dtype=mpo.dtype, device=mpo.device),
                        layer.out_features)
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
        return cls.from_module(linear, bond_dim, in_dims=in_dims, out_dims=out_dims, cutoff=cutoff)

    @classmethod
    def dense_matrix(cls, linear):
        # nn.Linear computes x @ weight.T.
        return linear.weight.T

    @classmethod
    def from_module_mpo(cls, linear, mpo):
        layer = cls.wrap_mpo(mpo, (linear.in_features, linear.out_features))
        layer.in_features, layer.out_features = linear.in_features, linear.out_features
        layer._set_bias(linear.bias, layer.out_features)
        return layer

    def forward(self, x):
        """``x @ W + b`` over the last dimension of x."""
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"expected input with last dimension {self.in_features}, got shape {tuple(x.shape)}"
            )
        y = self.weight().apply(x.reshape(-1, self.in_features)).reshape(*x.shape[:-1], self.out_features)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, {self._dims_repr()}, "
                f"bias={self.bias is not None}")
