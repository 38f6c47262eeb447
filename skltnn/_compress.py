"""Compress any torch model: each large ``nn.Linear``, ``nn.Conv2d`` and
``nn.Embedding`` becomes its MPO layer, with bond dimensions from its
weight's own spectra."""

import copy
import math
import numbers
import warnings

import torch
from torch import nn

from ._cores import bond_spectra, check_bond_dim, truncation_sweep
from ._layers import mpo_layer_type, padded_mpo, resolve_dims
from ._mpo import MPO


class CompressionReport:
    """What :func:`compress` did, per compressed layer.

    Attributes
    ----------
    layers : list of dict
        One per compressed layer, in the model's order: ``name`` (its
        qualified name), ``type`` (the dense module's class name), ``shape``
        (of its weight matrix: (in, out) for a Linear, (C_in kh kw, C_out)
        for a Conv2d, (num_embeddings, embedding_dim) for an Embedding),
        ``in_dims``, ``out_dims``, ``bond_dims``, ``params`` (MPO cores),
        ``dense_params`` (the weight it replaced), ``rho`` (their ratio) and
        ``error`` (the relative Frobenius error ``||W - W_mpo|| / ||W||``,
        exact; where the dims pad W, that of the padded matrix, a bound).
    skipped : list of dict
        The layers of a convertible type and size left dense: ``name``,
        ``type`` and ``reason`` (the option the MPO layer does not support).
    params, dense_params : int
        Totals over the compressed layers.
    """

    def __init__(self, layers, skipped=()):
        self.layers, self.skipped = layers, list(skipped)
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
        lines = ["  ".join(cell.ljust(w) if c < 3 else cell.rjust(w)
                           for c, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
        lines += [f"left dense: {layer['name']} ({layer['type']}): {layer['reason']}" for layer in self.skipped]
        return "\n".join(lines)

    def __repr__(self):
        skipped = f", {len(self.skipped)} left dense" if self.skipped else ""
        return f"CompressionReport({len(self.layers)} layers, {self.params} params, rho={self.rho:.4f}{skipped})"


def compress(module, *, bond_dim=None, tol=None, max_params=None, min_features=32, core_dims=None):
    """A copy of ``module`` with each large layer replaced by its MPO layer.

    ``nn.Linear`` becomes :class:`MPOLinear`, ``nn.Conv2d``
    :class:`MPOConv2d` and ``nn.Embedding`` :class:`MPOEmbedding` (the layer
    types registered with the seam of ``skltnn._layers``). Each layer's
    weight matrix is factorised as its MPO layer does by default and
    decomposed by TT-SVD; its bond dimensions are chosen from the singular
    values of its own unfoldings. ``bond_dim`` caps them; ``tol`` keeps, per
    layer, the fewest parameters whose relative error is at most ``tol``;
    ``max_params`` spends one parameter budget over all layers and bonds,
    greedily adding the singular value that removes the most squared error
    per parameter, relative to the squared norm its layer keeps (so that no
    layer is starved, and rescaling a layer does not move the budget).
    Everything else in the model (other modules, biases, buffers, smaller
    or subclassed layers) is copied unchanged, and so are layers with an
    option the MPO layer does not support (a grouped convolution, say),
    which the report lists with the option.
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
        layers (their biases, and everything else, are not counted). No
        layer gets more core parameters than its dense weight has.
    min_features : int, default=32
        Only layers whose weight matrix has both sides at least this are
        compressed: (in, out) for a Linear, (C_in kh kw, C_out) for a
        Conv2d, (num_embeddings, embedding_dim) for an Embedding.
    core_dims : dict, optional
        ``{layer name: (in_dims, out_dims)}``: the per-core factorisation of
        those layers' weight matrices (multiplying to at least their shape;
        more pads them), instead of their MPO layer's default. Two cores
        with large outer factors, such as ``((256, 4), (4, 256))`` for a
        1024 x 1024 layer, are the cheapest to apply at a given bond
        dimension.

    Returns
    -------
    compressed : torch.nn.Module
    report : CompressionReport
        Per layer: type, shape, core dimensions, bond dimensions,
        parameters, compression ratio rho and truncation error, and the
        layers left dense with why; ``print(report)`` shows a table,
        ``report.to_dict()`` gives a dict.

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
    # A layer reached under several names is one layer (weights shared).
    found, skipped = {}, {}
    for name, child in compressed.named_modules(remove_duplicate=False):
        layer_type = mpo_layer_type(child)
        if layer_type is None or min(layer_type.dense_matrix(child).shape) < min_features:
            continue
        reason = layer_type.unsupported(child)
        if reason:
            skipped.setdefault(id(child), dict(name=name, type=type(child).__name__, reason=reason))
        else:
            found.setdefault(id(child), (child, layer_type, []))[2].append(name)
    if not found:
        warnings.warn(f"compress: no nn.Linear, nn.Conv2d or nn.Embedding whose weight matrix has both sides >= "
                      f"min_features={min_features} could be compressed; the model is returned unchanged",
                      UserWarning)
    dims = _check_core_dims(core_dims, [names for _, _, names in found.values()])
    layers = [_Layer(child, layer_type, names[0], dims.get(names[0])) for child, layer_type, names in found.values()]
    _choose_ranks(layers, bond_dim, tol, max_params)
    summaries = []
    for layer, (_, _, names) in zip(layers, found.values()):
        replacement, summary = layer.build()
        summaries.append(summary)
        for name in names:
            if not name:  # the model is the layer itself
                compressed = replacement
                continue
            parent, _, attribute = name.rpartition(".")
            setattr(compressed.get_submodule(parent), attribute, replacement)
    return compressed, CompressionReport(summaries, skipped.values())


def _check_core_dims(core_dims, names):
    """``core_dims`` keyed by each layer's first name (a shared layer may have
    several), every key a layer that ``compress`` converts."""
    if core_dims is None:
        return {}
    if not isinstance(core_dims, dict):
        raise TypeError(f"core_dims must be a dict {{layer name: (in_dims, out_dims)}}, got {type(core_dims).__name__}")
    first = {name: layer_names[0] for layer_names in names for name in layer_names}
    unknown = [name for name in core_dims if name not in first]
    if unknown:
        raise ValueError(f"core_dims names {unknown}, which compress does not convert; "
                         f"the layers it converts: {sorted(first)}")
    dims = {}
    for name, pair in core_dims.items():
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"core_dims[{name!r}] must be a pair (in_dims, out_dims), got {pair!r}")
        dims[first[name]] = pair
    return dims


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
        # A budget buys compression: no layer gets more parameters than its dense weights.
        for layer in layers:
            layer.max_params = math.prod(layer.shape)
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
    """One dense module's weight matrix as an exact MPO, its bond spectra and chosen ranks."""

    def __init__(self, module, layer_type, name, dims=None):
        self.module, self.layer_type, self.name = module, layer_type, name
        weight = layer_type.dense_matrix(module)
        self.shape = tuple(weight.shape)
        try:
            self.in_dims, self.out_dims = resolve_dims(*self.shape, *(dims or (None, None)), layer_type.default_dims)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"core_dims[{name!r}] for its {self.shape[0]} x {self.shape[1]} matrix: {exc}") from None
        # float64 on the CPU: the spectra decide the ranks, and the SVDs are small.
        W = weight.detach().to("cpu", torch.float64)
        self.squared_norm = float(W.square().sum())
        self.exact = padded_mpo(W, self.in_dims, self.out_dims)
        # Per bond, the squared singular values and their tails (what keeping r of them discards).
        squares = [s.square() for s in bond_spectra(self.exact.cores)]
        self.spectra = [s.tolist() for s in squares]
        self.tails = [s.flip(0).cumsum(0).flip(0).tolist() + [0.0] for s in squares]
        self.sizes = [i * o for i, o in zip(self.in_dims, self.out_dims)]
        # Singular values at the rounding level of the layer's dtype are not worth a parameter.
        self.negligible = (torch.finfo(weight.dtype).eps ** 2) * self.squared_norm
        self.ranks = [1] * len(self.spectra)
        self.max_params = math.inf

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
        its neighbours' cores can feed it (``r_k <= r_(k-1) i_k o_k``), its
        next singular value is above the rounding level and the layer stays
        within ``max_params``."""
        bonds = [1, *self.ranks, 1]
        params = self.params()
        for k, s in enumerate(self.spectra):
            r = bonds[k + 1]
            if r >= len(s) or (cap is not None and r >= cap) or s[r] <= self.negligible:
                continue
            if r + 1 > bonds[k] * self.sizes[k] or r + 1 > bonds[k + 2] * self.sizes[k + 1]:
                continue
            cost = bonds[k] * self.sizes[k] + self.sizes[k + 1] * bonds[k + 2]
            if params + cost <= self.max_params:
                yield s[r], cost, k

    def build(self):
        """The MPO layer at the chosen ranks, and its entry in the report."""
        rounded, error = truncation_sweep(list(self.exact.cores), self.ranks, 0.0)
        weight = self.layer_type.dense_matrix(self.module)
        mpo = MPO([c.to(dtype=weight.dtype, device=weight.device) for c in rounded])
        layer = self.layer_type.from_module_mpo(self.module, mpo)
        layer.train(self.module.training)
        for core in layer.cores:  # a frozen layer stays frozen
            core.requires_grad_(weight.requires_grad)
        if layer.bias is not None:
            layer.bias.requires_grad_(self.module.bias.requires_grad)
        params, dense = mpo.n_params, math.prod(self.shape)
        relative_error = math.sqrt(max(float(error), 0.0) / self.squared_norm) if self.squared_norm else 0.0
        return layer, dict(name=self.name, type=type(self.module).__name__, shape=self.shape, in_dims=self.in_dims,
                           out_dims=self.out_dims, bond_dims=mpo.bond_dims, params=params, dense_params=dense,
                           rho=params / dense, error=relative_error)
