"""``MPOLinear``: a drop-in for ``torch.nn.Linear`` whose weight is an MPO."""

import math

import torch
from torch import nn

from ._contract import mpo_matmul
from ._factorize import balanced_factors, default_n_cores
from ._mpo import MPO, check_bond_dim, check_dims, torch_generator


def resolve_dims(in_features, out_features, in_dims=None, out_dims=None):
    """Per-core dims for a layer: the user's, else a balanced factorisation.

    The automatic choice pads a width that has too few prime factors with
    ones (e.g. 10 outputs over 3 cores: (5, 2, 1)).
    """
    if (in_dims is None) != (out_dims is None):
        given = "in_dims" if out_dims is None else "out_dims"
        raise ValueError(f"{given} was given without its counterpart; give both or neither")
    if in_dims is not None:
        return check_dims(in_dims, out_dims, in_features, out_features)
    n_cores = default_n_cores(in_features, out_features)
    return (
        balanced_factors(in_features, n_cores, allow_ones=True),
        balanced_factors(out_features, n_cores, allow_ones=True),
    )


class MPOLinear(nn.Module):
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
        Per-core factorisations of the widths; default balanced.
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
        # nn.Linear computes x @ weight.T, so W = weight.T.
        mpo = MPO.from_dense(linear.weight.detach().T, in_dims, out_dims, bond_dim, cutoff)
        bias = None if linear.bias is None else linear.bias.detach()
        return cls.from_mpo(mpo, bias)

    @property
    def mpo(self):
        """The weight as a detached :class:`MPO` (a copy)."""
        return MPO([c.detach().clone() for c in self.cores])

    def forward(self, x, cores=None):
        """``x @ W + b`` over the last dimension of x.

        ``cores`` replaces the layer's own cores for this call (the sweep
        passes a list with two neighbours merged into one bond tensor).
        """
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"expected input with last dimension {self.in_features}, got shape {tuple(x.shape)}"
            )
        lead = x.shape[:-1]
        y = mpo_matmul(x.reshape(-1, self.in_features), list(self.cores) if cores is None else cores)
        y = y.reshape(*lead, self.out_features)
        return y if self.bias is None else y + self.bias

    @property
    def bond_dim(self):
        return max((core.shape[-1] for core in list(self.cores)[:-1]), default=1)

    def extra_repr(self):
        mpo_dims = tuple(c.shape[1:3] for c in self.cores)
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bond_dim={self.bond_dim}, dims={[tuple(d) for d in mpo_dims]}, "
            f"bias={self.bias is not None}"
        )
