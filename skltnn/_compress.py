"""Compress any torch model: each large ``nn.Linear`` becomes an ``MPOLinear``
whose bond dimensions come from its weight's own spectra."""

import copy
import math
import numbers
import warnings

import torch
from torch import nn

from ._factorize import factorize_layer
from ._layers import MPOLinear
from ._mpo import MPO, bond_spectra, check_bond_dim, truncation_sweep


class CompressionReport:
    """What :func:`compress` did, per compressed layer.

    Attributes
    ----------
    layers : list of dict
        One per compressed ``nn.Linear``, in the model's order: ``name``
        (its qualified name), ``shape`` (in, out), ``in_dims``,
        ``out_dims``, ``bond_dims``, ``params`` (MPO cores), ``dense_params``
        (the weight it replaced), ``rho`` (their ratio) and ``error`` (the
        relative Frobenius error ``||W - W_mpo|| / ||W||``, exact).
    params, dense_params : int
        Totals over the compressed layers.
    """

    def __init__(self, layers):
        self.layers = layers
        self.params = sum(layer["params"] for layer in layers)
        self.dense_params = sum(layer["dense_params"] for layer in layers)

    @property
    def rho(self):
        """MPO parameters over the dense weights they replaced."""
        return self.params / self.dense_params if self.dense_params else float("nan")

    def to_dict(self):
        """``{name: layer dict}``."""
        return {layer["name"]: dict(layer) for layer in self.layers}

    def __str__(self):
        rows = [("layer", "shape", "bond dims", "params", "rho", "error")]
        for layer in self.layers:
            rows.append((layer["name"], "{}x{}".format(*layer["shape"]),
                         ",".join(map(str, layer["bond_dims"])) or "-", str(layer["params"]),
                         f"{layer['rho']:.4f}", f"{layer['error']:.2e}"))
        rows.append(("total", "", "", str(self.params), f"{self.rho:.4f}", ""))
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
        return "\n".join("  ".join(cell.ljust(w) if c < 3 else cell.rjust(w)
                                   for c, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows)

    def __repr__(self):
        return f"CompressionReport({len(self.layers)} layers, {self.params} params, rho={self.rho:.4f})"


def compress(module, *, bond_dim=None, tol=None, max_params=None, min_features=32):
    """A copy of ``module`` with each large ``nn.Linear`` replaced by an ``MPOLinear``.

    Each layer's weight is factorised as :class:`MPOLinear` does and
    decomposed by TT-SVD; its bond dimensions are chosen from the singular
    values of its own unfoldings. ``bond_dim`` caps them; ``tol`` keeps, per
    layer, the fewest parameters whose relative error is at most ``tol``;
    ``max_params`` spends one parameter budget over all layers and bonds,
    greedily adding the singular value that removes the most squared error
    per parameter, relative to the squared norm its layer keeps (so that no
    layer is starved, and rescaling a layer does not move the budget).
    Everything else in the model (other modules, biases, buffers, smaller
    or subclassed Linear layers) is copied unchanged.
    Fine-tune the result with ordinary torch training: its cores are
    parameters.

    Parameters
    ----------
    module : torch.nn.Module
        Not modified.
    bond_dim : int, optional
        Largest bond dimension of any layer.
    tol : float, optional
        Largest relative Frobenius error ``||W - W_mpo|| / ||W||`` per layer
        (0 keeps every singular value above the rounding level of the
        weights' dtype: the outputs do not change).
    max_params : int, optional
        Largest total number of MPO core parameters over the compressed
        layers (their biases, and everything else, are not counted).
    min_features : int, default=32
        Only ``nn.Linear`` layers whose input and output widths are both at
        least this are compressed.

    Returns
    -------
    compressed : torch.nn.Module
    report : CompressionReport
        Per layer: shape, core dimensions, bond dimensions, parameters,
        compression ratio rho and truncation error; ``print(report)`` shows
        a table, ``report.to_dict()`` gives a dict.

    Examples
    --------
    >>> import torch
    >>> from skltnn import compress
    >>> model = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    >>> small, report = compress(model, max_params=4000)
    >>> type(small[0]).__name__, report.params <= 4000, type(small[2]).__name__
    ('MPOLinear', True, 'Linear')
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if bond_dim is None and tol is None and max_params is None:
        raise ValueError("give bond_dim, tol or max_params (tol=0 keeps every singular value)")
    if tol is not None and max_params is not None:
        raise ValueError("give tol or max_params, not both: each chooses the bond dimensions")
    bond_dim = check_bond_dim(bond_dim, allow_none=True)
    if tol is not None and not (isinstance(tol, numbers.Real) and 0 <= tol < 1):
        raise ValueError(f"tol must be a relative error in [0, 1), got {tol!r}")
    if max_params is not None and (not isinstance(max_params, numbers.Integral) or max_params < 1):
        raise ValueError(f"max_params must be a positive integer, got {max_params!r}")
    compressed = copy.deepcopy(module)
    # A Linear reached under several names is one layer (weights shared).
    linears = {}
    for name, child in compressed.named_modules(remove_duplicate=False):
        if type(child) is nn.Linear and min(child.in_features, child.out_features) >= min_features:
            linears.setdefault(id(child), (child, []))[1].append(name)
    if not linears:
        warnings.warn(f"compress: no nn.Linear with both widths >= min_features={min_features}; "
                      f"the model is returned unchanged", UserWarning)
    layers = [_Layer(linear, names[0]) for linear, names in linears.values()]
    _choose_ranks(layers, bond_dim, tol, max_params)
    summaries = []
    for layer, (_, names) in zip(layers, linears.values()):
        replacement, summary = layer.build()
        summaries.append(summary)
        for name in names:
            if not name:  # the model is the Linear itself
                compressed = replacement
                continue
            parent, _, attribute = name.rpartition(".")
            setattr(compressed.get_submodule(parent), attribute, replacement)
    return compressed, CompressionReport(summaries)


def _choose_ranks(layers, cap, tol, max_params):
    """Every layer's ranks: the cap alone, the fewest parameters within
    ``tol`` per layer, or the best use of ``max_params`` over all layers."""
    if max_params is not None:
        smallest = sum(layer.params() for layer in layers)
        if smallest > max_params:
            raise ValueError(
                f"max_params={max_params} is below the smallest MPOs of the layers to compress (bond "
                f"dimension 1: {smallest} parameters); raise it, or raise min_features to compress fewer layers"
            )
        _grow(layers, cap, budget=max_params - smallest)
    elif tol is None:
        for layer in layers:
            layer.ranks = [len(s) if cap is None else min(cap, len(s)) for s in layer.spectra]
    else:
        for layer in layers:
            allowed = tol**2 * layer.squared_norm
            _grow([layer], cap, done=lambda layer=layer: layer.squared_error_bound() <= allowed)


def _grow(layers, cap, budget=math.inf, done=lambda: False):
    """Raise bonds one at a time until ``done()`` or nothing more fits in ``budget``.

    First the bond whose next singular value adds the most to its layer's
    kept squared norm, relative to what the layer keeps so far, per added
    parameter. Each layer passes on only what it keeps, so this spends the
    budget on the product of the layers' kept fractions; and the choice does
    not change when one layer is scaled up and the next down (a ReLU network
    computes the same function), as it would on absolute squared errors.
    Within one layer it is the order of the squared error removed per parameter.
    """
    spent = 0
    while not done():
        options = [(gain / (cost * layer.kept_squared_norm()), cost, index, bond)
                   for index, layer in enumerate(layers)
                   for gain, cost, bond in layer.candidates(cap) if spent + cost <= budget]
        if not options:
            return
        _, cost, index, bond = max(options)
        layers[index].ranks[bond] += 1
        spent += cost


class _Layer:
    """One Linear's weight as an exact MPO, its bond spectra and chosen ranks."""

    def __init__(self, linear, name):
        self.linear, self.name = linear, name
        self.in_dims, self.out_dims = factorize_layer(linear.in_features, linear.out_features)
        # float64 on the CPU: the spectra decide the ranks, and the SVDs are small.
        W = linear.weight.detach().to("cpu", torch.float64).T
        self.exact = MPO.from_dense(W, self.in_dims, self.out_dims)
        # Per bond, the squared singular values and their tails (what keeping r of them discards).
        squares = [s.square() for s in bond_spectra(self.exact.cores)]
        self.spectra = [s.tolist() for s in squares]
        self.tails = [s.flip(0).cumsum(0).flip(0).tolist() + [0.0] for s in squares]
        self.sizes = [i * o for i, o in zip(self.in_dims, self.out_dims)]
        self.squared_norm = float(W.square().sum())
        # Singular values at the rounding level of the layer's dtype are not worth a parameter.
        self.negligible = (torch.finfo(linear.weight.dtype).eps ** 2) * self.squared_norm
        self.ranks = [1] * len(self.spectra)

    def params(self):
        bonds = [1, *self.ranks, 1]
        return sum(bonds[k] * size * bonds[k + 1] for k, size in enumerate(self.sizes))

    def squared_error_bound(self):
        """TT-SVD's bound on the squared error: the discarded weight summed over bonds."""
        return sum(tail[r] for tail, r in zip(self.tails, self.ranks))

    def kept_squared_norm(self):
        """An estimate of ``||W_mpo||^2`` at the current ranks: ``||W||^2`` less
        the largest squared error of any one bond (a lower bound on the error)."""
        return self.squared_norm - max(tail[r] for tail, r in zip(self.tails, self.ranks))

    def candidates(self, cap):
        """(gain, cost, bond) of raising each bond by one: the squared singular
        value it keeps, and the parameters it adds. A bond grows only while
        its neighbours' cores can feed it (``r_k <= r_(k-1) i_k o_k``) and
        its next singular value is above the rounding level."""
        bonds = [1, *self.ranks, 1]
        for k, s in enumerate(self.spectra):
            r = bonds[k + 1]
            if r >= len(s) or (cap is not None and r >= cap) or s[r] <= self.negligible:
                continue
            if r + 1 > bonds[k] * self.sizes[k] or r + 1 > bonds[k + 2] * self.sizes[k + 1]:
                continue
            yield s[r], bonds[k] * self.sizes[k] + self.sizes[k + 1] * bonds[k + 2], k

    def build(self):
        """The MPOLinear at the chosen ranks, and its entry in the report."""
        rounded, error = truncation_sweep(list(self.exact.cores), self.ranks, 0.0)
        weight = self.linear.weight
        mpo = MPO([c.to(dtype=weight.dtype, device=weight.device) for c in rounded])
        bias = None if self.linear.bias is None else self.linear.bias.detach()
        layer = MPOLinear.from_mpo(mpo, bias)
        layer.train(self.linear.training)
        for core in layer.cores:  # a frozen layer stays frozen
            core.requires_grad_(weight.requires_grad)
        if bias is not None:
            layer.bias.requires_grad_(self.linear.bias.requires_grad)
        params, dense = mpo.n_params, self.linear.in_features * self.linear.out_features
        relative_error = math.sqrt(max(float(error), 0.0) / self.squared_norm) if self.squared_norm else 0.0
        return layer, dict(name=self.name, shape=mpo.shape, in_dims=self.in_dims, out_dims=self.out_dims,
                           bond_dims=mpo.bond_dims, params=params, dense_params=dense, rho=params / dense,
                           error=relative_error)
