"""The DMRG-like two-site sweep that trains the MPO cores (Jahromi & Orús, Sec. III)."""

import torch

from .._cores import full_rank_bond_dim
from .._layers import DenseWeight
from ._base import Solver
from ._line_search import LineSearch


def bond_visits(n_bonds_per_layer, strategy):
    """The (layer, bond, direction) visits of one iteration.

    'all_layers' (the paper's PaL) treats the layers as one long chain: every
    layer's bonds left to right, first layer to last, then all the way back.
    'layer_by_layer' (LbL) does a full back-and-forth sweep of one layer
    before moving to the next.
    """
    right = [[(layer, k, "right") for k in range(n)] for layer, n in enumerate(n_bonds_per_layer)]
    left = [[(layer, k, "left") for k in reversed(range(n))] for layer, n in enumerate(n_bonds_per_layer)]
    if strategy == "all_layers":
        return [v for sweep in right for v in sweep] + [v for sweep in reversed(left) for v in sweep]
    return [v for r, lft in zip(right, left) for v in r + lft]


# The fewest mini-batch steps a visit takes (or the whole epoch, when it has
# fewer batches). One step per visit on two-batch epochs lost up to a point on
# the broad benchmark's 2000-row sets.
MIN_VISIT_STEPS = 2


def visit_steps(n_batches, n_visits):
    """The number of mini-batch steps of each of an iteration's visits.

    An iteration takes the fewest whole epochs that give every visit at
    least ``MIN_VISIT_STEPS`` batches (every batch, when the epoch has
    fewer), and the visits share their batches out in turn. On large data,
    with at least two batches per visit, an iteration is thus one pass over
    the data, as an epoch of backprop is; on small data (the whole training
    set is one batch up to 1000 rows) every visit takes the epoch; and in
    between the cost of an iteration changes smoothly. Whole epochs keep
    an iteration of fit the same as a call of partial_fit.
    """
    floor = min(n_batches, MIN_VISIT_STEPS)
    total = -(-floor * n_visits // n_batches) * n_batches
    return [(j + 1) * total // n_visits - j * total // n_visits for j in range(n_visits)]


class DMRGSweeper(Solver):
    """Two-site updates of every TN layer of a :class:`TNNetwork`.

    For each visited bond: merge the two cores into the bond tensor B, take
    mini-batch steps on B and the dense parameters from its layer on
    (:class:`LineSearch`; the earlier layers stay fixed; the visit's share
    of an epoch but at least two batches, on small data the whole epoch:
    :func:`visit_steps`), the gradients by hand when the layer is applied
    as a dense W, by autograd from the bond's environment otherwise, then
    split B by a truncated SVD (randomized where B is much larger than
    ``bond_dim``: :func:`leading_svd`) so that the orthogonality centre
    moves with the sweep. Because the other cores of the layer are
    isometries, the kept singular values are that bond's spectrum and a
    step on B is a well-conditioned step on W.

    The TN layers start as product operators (bond dimension 1, entropy 0)
    and the SVD splits grow each bond up to ``bond_dim`` as the gradients
    demand, so the entropies measure learned correlation rather than the
    random initialisation's. A layer whose product operator would not have
    full rank (cores such as (256, 4), (4, 256), whose product is a rank-16
    map of 1024 units) starts instead at the least bond dimension that
    allows full rank, at most ``bond_dim`` (:func:`full_rank_bond_dim`).
    """

    settings = {"svd_cutoff": "svd_cutoff", "sweep": "sweep"}
    # The first step on a bond tensor (the line search adapts it).
    default_learning_rate = 0.2
    # Beyond FULL_BATCH_ROWS rows, batches of this many: ten or more per
    # epoch, which a sweep's visits share out (visit_steps).
    default_batch_size = 1000
    # The whole training set as one batch up to this many rows, as the paper
    # trains: the line search then decides on the objective itself rather
    # than on a sample of it. A few large batches per epoch would cost each
    # visit two or more passes over the data (visit_steps).
    FULL_BATCH_ROWS = 10_000

    def __init__(self, network, *, learning_rate, bond_dim, svd_cutoff=0.0, sweep="all_layers"):
        super().__init__(network, learning_rate=learning_rate, bond_dim=bond_dim)
        self.svd_cutoff, self.sweep = svd_cutoff, sweep
        layers = network.tn_layers
        for index, layer in enumerate(layers):
            if layer.n_bonds < 1:
                raise ValueError(
                    f"TN layer {index} ({layer.in_features} -> {layer.out_features} units) has a single "
                    f"core, which the DMRG sweep cannot train: give it core_dims of at least two cores"
                )
        self.visits = bond_visits([layer.n_bonds for layer in layers], sweep)
        self.line_search = LineSearch(network.dense_parameters(), network.penalized_dense_parameters(),
                                      self.learning_rate, len(layers))
        # A sweep starts at the left end: centre on core 0, the rest right-orthonormal.
        for layer in layers:
            layer.canonicalize(0)

    @classmethod
    def auto_batch_size(cls, n_samples):
        return n_samples if n_samples <= cls.FULL_BATCH_ROWS else cls.default_batch_size

    @classmethod
    def initial_bond_dim(cls, bond_dim, in_dims, out_dims):
        return min(bond_dim, full_rank_bond_dim(in_dims, out_dims))

    def run_iteration(self, objective, l2, stream):
        steps = visit_steps(stream.n_batches, len(self.visits))
        losses = [self.update_bond(layer, bond, direction, objective, l2, stream, n_steps)
                  for (layer, bond, direction), n_steps in zip(self.visits, steps)]
        return sum(losses) / len(losses)

    def reduce_step(self, factor):
        self.line_search.reduce(factor)

    def bond_spectra(self):
        # A complete iteration ends every layer's sweep on its first bond
        # moving left: the layer is in canonical form around core 0.
        return [layer.bond_spectra(center=0) for layer in self.network.tn_layers]

    def state_dict(self):
        return self.line_search.state_dict()

    def load_state_dict(self, state):
        self.line_search.load_state_dict(state)

    def update_bond(self, layer_index, bond, direction, objective, l2, stream, n_steps=None):
        """Optimise one bond tensor for ``n_steps`` mini-batches (by default an epoch), then split it.

        Returns the mean objective over the steps, each taken before its
        step.
        """
        layer = self.network.tn_layers[layer_index]
        B = layer.merge(bond)
        problem = self._bond_problem(layer_index, bond, objective, stream.batch_size)
        # The other cores are isometries, so this layer's ||W||^2 is ||B||^2;
        # the other layers' norms, and those of the penalised weights before
        # this layer (a trainable projection), are constant during the visit.
        others = self._fixed_squared_norm(layer_index) if l2 else 0.0
        losses = []
        for _ in range(n_steps or stream.n_batches):
            B, loss = self.line_search.step(layer_index, problem, stream.next(), B, l2, others,
                                            mini_batch=stream.n_batches > 1)
            losses.append(loss)
        layer.split(bond, B, direction=direction, max_rank=self.bond_dim, cutoff=self.svd_cutoff)
        return sum(losses) / len(losses)

    @torch.no_grad()
    def _fixed_squared_norm(self, layer_index):
        """The squared norm of the penalised weights that a visit of this layer
        does not move: the other TN layers and the penalised dense
        parameters before it (a trainable projection)."""
        network, layer = self.network, self.network.tn_layers[layer_index]
        moving = network.dense_parameters(layer_index)
        return sum(float(other.squared_norm()) for other in network.tn_layers if other is not layer) + sum(
            float(w.pow(2).sum()) for name, w in network.penalized_dense_parameters().items() if name not in moving)

    def _bond_problem(self, layer_index, bond, objective, batch_size):
        """The objective of one visit as a function of the bond tensor.

        Returns an object with ``gradients(index, B) -> (loss, dL/dB,
        {name: dL/dp} of the dense parameters from the layer on)`` and
        ``loss(index, B)``. When the layer is cheapest to apply as its dense W (small
        layers), the network is differentiated by hand and dL/dW mapped back
        to dL/dB; otherwise autograd differentiates it from the bond on.
        """
        layer = self.network.tn_layers[layer_index]
        environment = layer.dense_environment(bond, batch_size)
        if environment is None:
            return _EnvironmentBond(self.network, objective, layer_index, bond)
        return _HandWrittenBond(self.network, objective, layer_index, environment)


class _BondProblem:
    """A visit's objective as a function of the bond tensor and of the dense
    parameters that act from the visited layer on
    (``network.dense_parameters(layer_index)``).

    The earlier layers and their parameters stay fixed during the visit, so
    what a step needs of its batch (:meth:`prepare` of the visited layer's
    input) is computed once per batch, for the gradient and the trials.
    """

    def __init__(self, network, objective, layer_index):
        self.network, self.objective, self.layer_index = network, objective, layer_index
        # A trainable projection moves with the first layer's steps: its output is not fixed.
        self.fixed_input = layer_index > 0 or network.input_projection != "trainable"
        self._index = self._batch = None

    def prepare(self, x):
        """What the steps need of the visited layer's input ``x``."""
        return x

    def loss_along(self, index, B, direction):
        """``loss(index, B + t * direction)`` as a function of t: the line
        search's trials."""
        return lambda t: self.loss(index, torch.add(B, direction, alpha=t))

    def batch(self, index):
        """:meth:`prepare` of the visited layer's input for the rows ``index``,
        from a cache when that input is fixed."""
        if not self.fixed_input:
            return self.prepare(self.objective.inputs(index))
        if index is not self._index:
            with torch.no_grad():
                inputs = self.network.forward_pass(self.objective.inputs(index), last=self.layer_index)
                self._batch = self.prepare(inputs)
            self._index = index
        return self._batch


class _EnvironmentBond(_BondProblem):
    """A visit's objective by autograd from the visited layer on, the input
    contracted with the cores left of the bond computed once per batch."""

    def __init__(self, network, objective, layer_index, bond):
        super().__init__(network, objective, layer_index)
        self.layer, self.bond = network.tn_layers[layer_index], bond
        self.dense = network.dense_parameters(layer_index)

    def prepare(self, x):
        return self.layer.bond_environment(self.bond, x)

    def _output(self, index, B):
        weight = _Preactivation(self.batch(index).apply(B))
        return self.network.forward_pass(None, {self.layer_index: weight}, self.layer_index)

    def gradients(self, index, B):
        B = B.detach().requires_grad_(True)
        loss = self.objective.output_loss(self._output(index, B), index)
        grad_B, *grads = torch.autograd.grad(loss, [B, *self.dense.values()], allow_unused=True,
                                             materialize_grads=True)
        return loss.detach(), grad_B, dict(zip(self.dense, grads))

    def loss(self, index, B):
        with torch.no_grad():
            return self.objective.output_loss(self._output(index, B), index)


class _HandWrittenBond(_BondProblem):
    """A visit's objective through the layer's dense W and a hand-written backward pass.

    Behind a trainable projection P (the first layer's visits), the layer
    is applied to the rows X themselves as the one matrix P W: ``X (P W)``
    costs a product of X with a (n_features, width) matrix where ``(X P) W``
    costs that and a product of the batch with W, and tabular data have
    fewer features than units.
    """

    def __init__(self, network, objective, layer_index, environment):
        super().__init__(network, objective, layer_index)
        self.environment = environment
        self._product = None  # (B, x W(B)) of the last gradient, for the line search that follows

    def batch(self, index):
        # Behind a trainable projection the rows themselves (_ProjectedWeight applies P).
        return super().batch(index) if self.fixed_input else self.objective.rows(index)

    def _weights(self, B):
        matrix = self.environment.to_dense(B)
        weight = DenseWeight(matrix) if self.fixed_input else _ProjectedWeight(self.network.projection, matrix)
        return {self.layer_index: weight}

    @torch.no_grad()
    def gradients(self, index, B):
        objective, network, first = self.objective, self.network, self.layer_index
        x, inputs = self.batch(index), [None] * first
        if self.fixed_input:  # the backward pass stops at this layer: x W(B) is all it needs of W
            product = x @ self.environment.to_dense(B)
            self._product = (B, product)
            weights = {first: _Preactivation(product)}
        else:
            weights = self._weights(B)
        output = network.forward_pass(x, weights, first, inputs=inputs)
        loss, grad_output = objective.loss_and_gradient(output, index)
        X = None if self.fixed_input else x
        dense_grads, layer_grads = network.backward(inputs, grad_output, weights, X, first)
        grad_W = inputs[first].t() @ layer_grads[first]
        if not self.fixed_input:  # the input was X, not X P: (X P)^T g = P^T (X^T g)
            grad_W = network.projection.t() @ grad_W
        return loss, self.environment.adjoint(grad_W), dense_grads

    @torch.no_grad()
    def loss(self, index, B):
        output = self.network.forward_pass(self.batch(index), self._weights(B), self.layer_index)
        return self.objective.output_loss(output, index)

    def loss_along(self, index, B, direction):
        if not self.fixed_input:  # a trainable projection moves the layer's input with the trials
            return super().loss_along(index, B, direction)
        # W is linear in B, so x W(B + t d) = x W(B) + t x W(d): two products
        # for the whole search, and each trial then costs only the layers after this one.
        x = self.batch(index)
        cached, product = self._product or (None, None)
        base = product if cached is B else x @ self.environment.to_dense(B)
        change = x @ self.environment.to_dense(direction)

        def loss(t):
            weight = _Preactivation(torch.add(base, change, alpha=t))
            output = self.network.forward_pass(x, {self.layer_index: weight}, self.layer_index)
            return self.objective.output_loss(output, index)
        return loss


class _ProjectedWeight(DenseWeight):
    """The first TN layer's dense W behind a trainable projection P, for the
    rows X themselves: it applies the (n_features, width) matrix P W, and its
    transpose is W's, so that the network's backward pass gives P's gradient
    as ``X^T (g W^T)``."""

    def __init__(self, projection, matrix):
        super().__init__(matrix)
        self.composed = projection @ matrix

    def apply(self, x):
        return x @ self.composed

    def affine(self, x, bias):
        return torch.addmm(bias, x, self.composed)


class _Preactivation:
    """The visited layer's weight for the visit's one fixed input x, given
    as the product ``x @ W`` that the visit computed its own way (from the
    bond's environment, or as ``x W(B) + t x W(d)`` along a line search)."""

    def __init__(self, product):
        self.product = product

    def affine(self, x, bias):
        return self.product + bias
