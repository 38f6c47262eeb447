"""The DMRG-like two-site sweep that trains the MPO cores (Jahromi & Orús, Sec. III)."""

import math

import torch

from ._contract import BondMap, contraction_plan, merge_cores, merge_pair, squared_norm
from ._linalg import svd, truncation_rank
from ._mpo import bond_spectra, right_orthonormalize
from ._optim import Adam

DENSE_LR_RATIO = 0.2
# The line search (see DMRGSweeper): sufficient decrease, the multiplier's
# change after a first-trial success and per backtracking trial, its cap, the
# trials per step before the step is skipped, and the rounding errors of the
# objective that do not count as a rise.
ARMIJO = 1e-4
GROWTH = 2.0
SHRINK = 0.5
MAX_SCALE = 16.0
MAX_DENSE_SCALE = 4.0
MAX_TRIALS = 12
NOISE_ULPS = 8


def bond_schedule(n_cores_per_layer, strategy):
    """The (layer, bond, direction) visits of one iteration.

    'all_layers' (the paper's PaL) treats the layers as one long chain: every
    layer's bonds left to right, first layer to last, then all the way back.
    'layer_by_layer' (LbL) does a full back-and-forth sweep of one layer
    before moving to the next.
    """
    right = [[(layer, k, "right") for k in range(n - 1)] for layer, n in enumerate(n_cores_per_layer)]
    left = [[(layer, k, "left") for k in reversed(range(n - 1))] for layer, n in enumerate(n_cores_per_layer)]
    if strategy == "all_layers":
        return [v for sweep in right for v in sweep] + [v for sweep in reversed(left) for v in sweep]
    return [v for r, lft in zip(right, left) for v in r + lft]


class DMRGSweeper:
    """Two-site updates of every TN layer of a :class:`TNNetwork`.

    For each visited bond: merge the two cores into the bond tensor B, take
    an epoch of mini-batch steps on B and the dense parameters, the gradients
    through the whole network (by hand for small layers, by autograd
    otherwise), then split B by a truncated SVD so that the orthogonality
    centre moves with the sweep. Because the other cores of the layer are
    isometries, the kept singular values are exactly that bond's spectrum
    and a step on B is a well-conditioned step on W.

    Each step is a backtracking line search on its batch's objective (data
    term + L2). The bond tensor moves along ``-learning_rate * dL/dB`` and
    the dense parameters along Adam's step (restarted from the gradient when
    its momentum points uphill), each times its own step multiplier. Both
    first try their full step together; if the objective does not fall by
    ``ARMIJO`` times the fall their slopes predict (Armijo's rule), the bond
    tensor's length is halved until it does, then the dense parameters'. A
    step that does not lower the objective is never taken, whatever the
    scale of the data. A multiplier grows by ``GROWTH`` after a first-trial
    success (up to ``MAX_SCALE`` for each layer's bonds and
    ``MAX_DENSE_SCALE`` for the dense parameters) and shrinks to the length
    accepted otherwise, so the step follows the curvature up and down.

    Parameters
    ----------
    network : TNNetwork
    learning_rate : float
        Initial step on the bond tensors; the dense parameters' Adam steps
        are ``DENSE_LR_RATIO`` times this, and both are scaled by the line
        search's multiplier.
    bond_dim : int
    svd_cutoff : float
    strategy : {'all_layers', 'layer_by_layer'}
    """

    def __init__(self, network, learning_rate, bond_dim, svd_cutoff, strategy):
        self.network = network
        self.learning_rate = learning_rate
        self.bond_dim = bond_dim
        self.svd_cutoff = svd_cutoff
        self.schedule = bond_schedule([len(layer.cores) for layer in network.tn_layers], strategy)
        self.step_scales = [1.0] * len(network.tn_layers)
        self.dense_scale = 1.0
        # Plain gradient steps suit the bond tensor (its environment is an
        # isometry); the dense parameters have no such conditioning and train
        # best with Adam at a smaller step.
        self.dense_optimizer = Adam(network.dense_parameters(), learning_rate * DENSE_LR_RATIO)
        # Where the output weight's gradient sits among the dense ones (for L2).
        self._output_index = next(k for k, p in enumerate(self.dense_optimizer.params)
                                  if p is network.output.weight)
        # A sweep starts at the left end: centre on core 0, the rest right-orthonormal.
        with torch.no_grad():
            for layer in network.tn_layers:
                cores = right_orthonormalize([c.detach() for c in layer.cores], 0)
                _set_cores(layer, cores)

    def run_iteration(self, loss_fn, l2, stream):
        """One back-and-forth sweep. Returns the mean training loss of its steps.

        Parameters
        ----------
        loss_fn : callable(batch_index, replaced=None) -> scalar tensor
            The data term of the objective on a batch, ``replaced`` as in
            ``network.head``.
        l2 : float
            The objective adds ``l2 * sum ||W||_F^2`` over the TN and output
            weights.
        stream : BatchStream
        """
        losses = [self.update_bond(layer, bond, direction, loss_fn, l2, stream)
                  for layer, bond, direction in self.schedule]
        return sum(losses) / len(losses)

    def reduce_step(self, factor):
        """Scale every step down by ``factor`` and forget Adam's moments (after a divergence)."""
        self.step_scales = [scale * factor for scale in self.step_scales]
        self.dense_scale *= factor
        self.dense_optimizer.reset()

    def bond_spectra(self):
        """Per TN layer, the singular values of each bond.

        After a complete iteration every layer's sweep has ended on its first
        bond moving left, so its cores 1..n-1 are right-orthonormal.
        """
        with torch.no_grad():
            return [bond_spectra([c.detach() for c in layer.cores], right_canonical=True)
                    for layer in self.network.tn_layers]

    def update_bond(self, layer_index, bond, direction, loss_fn, l2, stream):
        """Optimise one bond tensor for an epoch of mini-batches, then split it.

        Returns the mean objective over the epoch's steps, each taken before
        its step.
        """
        layer = self.network.tn_layers[layer_index]
        cores = [c.detach() for c in layer.cores]
        d_left, i1, o1, _ = cores[bond].shape
        _, i2, o2, d_right = cores[bond + 1].shape
        # B in the layout of a merged core, (D_left, i1 i2, o1 o2, D_right), so
        # that each step uses it as it is.
        B = merge_pair(cores[bond], cores[bond + 1])
        problem = self._bond_problem(layer_index, cores, bond, B.shape, loss_fn, stream.batch_size)
        # The other cores are isometries, so this layer's ||W||^2 is ||B||^2;
        # the other layers' norms are constant during the visit.
        others = sum(float(squared_norm([c.detach() for c in other.cores]))
                     for other in self.network.tn_layers if other is not layer) if l2 else 0.0
        losses = []
        for _ in range(stream.n_batches):
            B, loss = self._line_search_step(layer_index, problem, stream.next(), B, l2, others)
            losses.append(loss)

        with torch.no_grad():
            pair = B.reshape(d_left, i1, i2, o1, o2, d_right).permute(0, 1, 3, 2, 4, 5)
            u, s, vh = svd(pair.reshape(d_left * i1 * o1, i2 * o2 * d_right))
            rank = truncation_rank(s, self.bond_dim, self.svd_cutoff)
            u, s, vh = u[:, :rank], s[:rank], vh[:rank]
            if direction == "right":  # U stays left-orthonormal, the centre moves right
                cores[bond], cores[bond + 1] = u, s[:, None] * vh
            else:
                cores[bond], cores[bond + 1] = u * s, vh
            cores[bond] = cores[bond].reshape(d_left, i1, o1, rank)
            cores[bond + 1] = cores[bond + 1].reshape(rank, i2, o2, d_right)
            _set_cores(layer, cores)
        return sum(losses) / len(losses)

    def _line_search_step(self, layer_index, problem, index, B, l2, others):
        """One step on the batch ``index``; returns the new B and the objective before the step.

        Both blocks first try their full step in one trial, which most steps
        pass. Otherwise each searches its own length in turn: the bond tensor
        along its gradient, then the dense parameters along Adam's step (from
        the gradient at the start of the step).
        """
        loss, grad_B, grads = problem.gradients(index, B)
        output_weight = self.network.output.weight

        def penalty(bond):
            return l2 * (bond.square().sum() + output_weight.square().sum() + others)

        def objective(bond):
            value = problem.loss(index, bond)
            return float(value + penalty(bond) if l2 else value)

        with torch.no_grad():
            if l2:
                # The penalty's gradient in closed form keeps it out of the graph.
                loss = loss + penalty(B)
                grad_B = grad_B.add_(B, alpha=2 * l2)
                grads[self._output_index] = grads[self._output_index].add_(output_weight, alpha=2 * l2)
            loss = float(loss)
            if not math.isfinite(loss):
                raise FloatingPointError("the training loss is not finite")
            # Differences of a few rounding errors are not a rise in the objective.
            tolerance = NOISE_ULPS * torch.finfo(B.dtype).eps * abs(loss)
            dense = _DenseStep(self.dense_optimizer, grads, self.dense_scale)
            step = self.step_scales[layer_index] * self.learning_rate
            bond_slope = -step * float(grad_B.square().sum())

            moved = B - step * grad_B
            dense.move(1.0)
            if objective(moved) <= loss + ARMIJO * (bond_slope + dense.slope) + tolerance:
                bond_factor = dense_factor = 1.0
            else:
                dense.move(0.0)
                bond_factor, after = _backtrack(lambda f: objective(B - (f * step) * grad_B), loss,
                                                bond_slope, tolerance)
                moved = B - (bond_factor * step) * grad_B
                dense_factor, _ = _backtrack(lambda f: dense.move(f) or objective(moved), after,
                                             dense.slope, tolerance)
                if not dense_factor:  # the parameters hold the last factor tried
                    dense.move(0.0)
            self.step_scales[layer_index] = _next_scale(self.step_scales[layer_index], bond_factor, MAX_SCALE)
            self.dense_scale = _next_scale(self.dense_scale, dense_factor, MAX_DENSE_SCALE)
            return moved, loss

    def _bond_problem(self, layer_index, cores, bond, bond_shape, loss_fn, batch_size):
        """The objective of one visit as a function of the bond tensor.

        Returns an object with ``gradients(index, B) -> (loss, dL/dB,
        dL/d(dense parameters))`` and ``loss(index, B)``. When the
        contraction plan rebuilds the layer's dense W anyway (small layers)
        and the loss offers :meth:`Objective.loss_and_gradient`, the network
        is differentiated by hand and dL/dW mapped back to dL/dB; otherwise
        autograd differentiates the whole network.
        """
        chain = cores[:bond] + [None] + cores[bond + 2:]
        plan = contraction_plan(tuple(tuple(c.shape) if c is not None else tuple(bond_shape) for c in chain),
                                batch_size)
        if not hasattr(loss_fn, "loss_and_gradient") or plan != ((0, len(chain)),):
            return _AutogradBond(loss_fn, layer_index, cores, bond, self.dense_optimizer.params)
        # The cores on either side of the bond are fixed during the visit.
        with torch.no_grad():
            bond_map = BondMap(merge_cores(cores[:bond]) if bond else None,
                               merge_cores(cores[bond + 2:]) if bond + 2 < len(cores) else None, bond_shape)
        return _HandWrittenBond(self.network, loss_fn, layer_index, bond_map)


class _AutogradBond:
    """A visit's objective differentiated by autograd through the whole network."""

    def __init__(self, loss_fn, layer_index, cores, bond, dense):
        self.loss_fn, self.layer_index, self.dense = loss_fn, layer_index, dense
        self.left, self.right = cores[:bond], cores[bond + 2:]

    def _replaced(self, B):
        return self.layer_index, self.left + [B] + self.right

    def gradients(self, index, B):
        B = B.detach().requires_grad_(True)
        loss = self.loss_fn(index, self._replaced(B))
        grad_B, *grads = torch.autograd.grad(loss, [B, *self.dense], allow_unused=True, materialize_grads=True)
        return loss.detach(), grad_B, grads

    def loss(self, index, B):
        with torch.no_grad():
            return self.loss_fn(index, self._replaced(B))


class _HandWrittenBond:
    """A visit's objective through the layer's dense W and a hand-written backward pass."""

    def __init__(self, network, objective, layer_index, bond_map):
        self.network, self.objective = network, objective
        self.layer_index, self.bond_map = layer_index, bond_map
        self.trainable_projection = network.input_projection == "trainable"

    def gradients(self, index, B):
        objective = self.objective
        X = objective.X[index] if self.trainable_projection else None
        loss, grad_W, grads = self.network.backprop(
            X, objective.inputs(index), lambda output: objective.loss_and_gradient(output, index),
            self.layer_index, self.bond_map.to_dense(B))
        return loss, self.bond_map.adjoint(grad_W), grads

    def loss(self, index, B):
        output, _ = self.network.forward_with(self.objective.inputs(index), self.layer_index,
                                              self.bond_map.to_dense(B))
        return self.objective.output_loss(output, index)


class _DenseStep:
    """Adam's step for the dense parameters, as a direction to move along.

    When Adam's momentum points uphill on this batch (as it can after other
    batches), it restarts: the step becomes the gradient divided by Adam's
    second-moment estimate, which always points downhill.
    """

    def __init__(self, optimizer, grads, scale):
        self.params, self.scale = optimizer.params, scale
        self.start = [p.clone() for p in self.params]
        self.steps = optimizer.direction(grads)
        slope = _inner(grads, self.steps)
        if slope > 0:
            self.steps = optimizer.restart_momentum(grads)
            slope = _inner(grads, self.steps)
        self.slope = scale * slope  # the objective's derivative along the full step

    def move(self, factor):
        """Set the parameters to ``start + factor * scale * step``."""
        for param, value, step in zip(self.params, self.start, self.steps):
            torch.add(value, step, alpha=factor * self.scale, out=param)


def _backtrack(objective, value, slope, tolerance):
    """Armijo's backtracking: the first factor of 1, 1/2, 1/4, ... (at most
    MAX_TRIALS of them) whose ``objective(factor)`` is at most ``value +
    ARMIJO * factor * slope + tolerance``, and that objective; (0, value)
    when none is (the step is not taken). A non-finite objective fails."""
    factor = 1.0
    for _ in range(MAX_TRIALS):
        trial = objective(factor)
        if trial <= value + ARMIJO * factor * slope + tolerance:
            return factor, trial
        factor *= SHRINK
    return 0.0, value


def _next_scale(scale, factor, cap):
    """A step multiplier after a search that accepted ``factor``: grown (up to
    ``cap``) after a full step, else cut to the accepted length (or to the
    shortest tried)."""
    if factor == 1.0:
        return min(scale * GROWTH, cap)
    return scale * (factor or SHRINK**MAX_TRIALS)


def _inner(grads, steps):
    return float(sum((g * s).sum() for g, s in zip(grads, steps)))


def _set_cores(layer, cores):
    """Replace the values of a layer's cores (their bond dimensions may change)."""
    for param, core in zip(layer.cores, cores):
        param.data = core.contiguous()
