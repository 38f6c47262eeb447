"""The sweep's step: a backtracking line search on a bond tensor and the dense parameters."""

import math

import torch

from ._adam import Adam

DENSE_LR_RATIO = 0.2
# Sufficient decrease, the multiplier's change after a first-trial success
# and per backtracking trial, its caps, the trials of the bond tensor's and
# the dense parameters' searches before their step is skipped, and the
# rounding errors of the objective that do not count as a rise.
ARMIJO = 1e-4
GROWTH = 2.0
SHRINK = 0.5
MAX_SCALE = 16.0
MAX_DENSE_SCALE = 4.0
# Both caps when an epoch has several batches: grown on the batches that
# happened to suit them, the steps would fit each batch rather than the data.
MAX_MINI_BATCH_SCALE = 1.0
MAX_TRIALS = 12
MAX_DENSE_TRIALS = 3
NOISE_ULPS = 8


class LineSearch:
    """Steps on a bond tensor and the dense parameters that never raise the objective.

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
    ``MAX_DENSE_SCALE`` for the dense parameters; on mini-batches, whose
    objective is a sample of the data's, up to ``MAX_MINI_BATCH_SCALE``)
    and shrinks to the length accepted otherwise, so the step follows the
    curvature up and down.

    The dense search starts where the bond tensor's ended, but its slope is
    the one at the start of the step: after a long bond step Adam's step
    may point uphill at any length. That search therefore gives up after
    ``MAX_DENSE_TRIALS`` lengths: the dense parameters then stay put for
    this step, and their multiplier becomes half the shortest length tried.

    Parameters
    ----------
    dense_params : dict of str to torch.Tensor
        The dense parameters by name, in the order of the data's flow,
        trained by Adam at ``DENSE_LR_RATIO`` times the learning rate: they
        lack the bond tensor's conditioning (its environment is an
        isometry) that suits plain gradient steps.
    penalized : collection of str
        The names of those that the L2 penalty covers.
    learning_rate : float
    n_layers : int
        One step multiplier per TN layer.
    """

    def __init__(self, dense_params, penalized, learning_rate, n_layers):
        self.learning_rate = learning_rate
        self.step_scales = [1.0] * n_layers
        self.dense_scale = 1.0
        self.dense_optimizer = Adam(dense_params, learning_rate * DENSE_LR_RATIO)
        self.penalized = frozenset(penalized)

    def step(self, layer_index, problem, index, B, l2, others, mini_batch=False):
        """One step on the batch ``index``; returns the new B and the objective before the step.

        ``problem`` gives the visit's data term and its gradients
        (``gradients(index, B)``: the loss, dL/dB and {name: gradient} of
        the dense parameters the visit moves, the last ones in the data's
        flow; ``loss_along(index, B, direction)``); ``others`` is the
        squared norm of the weights that the visit does not change. Both
        blocks first try their full step in one trial, which most steps
        pass. Otherwise each searches its own length in turn: the bond
        tensor along its gradient, then the dense parameters along Adam's
        step (from the gradient at the start of the step). ``mini_batch``:
        the batch is one of several of the epoch (the multipliers' caps are
        then ``MAX_MINI_BATCH_SCALE``).
        """
        loss, grad_B, grads = problem.gradients(index, B)
        params = self.dense_optimizer.params
        # The step moves the dense parameters named in ``grads``; the L2 penalty covers ``moving`` of them.
        moving = [name for name in grads if name in self.penalized]

        with torch.no_grad():
            if l2:
                # The penalty's gradient in closed form keeps it out of the graph.
                grad_B = grad_B.add_(B, alpha=2 * l2)
                for name in moving:
                    grads[name] = grads[name].add_(params[name], alpha=2 * l2)
            # ||B - t dL/dB||^2 as a quadratic in t gives the bond's slope and
            # every trial's penalty without touching the tensors again.
            bond_norm = _SquaredNorm([B], [grad_B])
            dense = _DenseStep(self.dense_optimizer, grads, self.dense_scale, moving if l2 else [])
            step = self.step_scales[layer_index] * self.learning_rate
            bond_slope = -step * bond_norm.direction_norm

            def penalty(bond_factor):
                return l2 * (bond_norm(-bond_factor * step) + dense.squared_norm() + others) if l2 else 0.0

            along = problem.loss_along(index, B, grad_B)

            def objective(bond_factor):
                return float(along(-bond_factor * step)) + penalty(bond_factor)

            loss = float(loss) + penalty(0.0)
            if not math.isfinite(loss):
                raise FloatingPointError("the training loss is not finite")
            # Differences of a few rounding errors are not a rise in the objective.
            tolerance = NOISE_ULPS * torch.finfo(B.dtype).eps * abs(loss)

            dense.move(1.0)
            if objective(1.0) <= loss + ARMIJO * (bond_slope + dense.slope) + tolerance:
                bond_factor = dense_factor = 1.0
            else:
                dense.move(0.0)
                bond_factor, after = _backtrack(objective, loss, bond_slope, tolerance)
                dense_factor, _ = _backtrack(lambda f: dense.move(f) or objective(bond_factor), after,
                                             dense.slope, tolerance, MAX_DENSE_TRIALS)
                if not dense_factor:  # the parameters hold the last factor tried
                    dense.move(0.0)
            moved = torch.add(B, grad_B, alpha=-bond_factor * step)
            bond_cap, dense_cap = (MAX_MINI_BATCH_SCALE,) * 2 if mini_batch else (MAX_SCALE, MAX_DENSE_SCALE)
            self.step_scales[layer_index] = _next_scale(self.step_scales[layer_index], bond_factor, bond_cap,
                                                        MAX_TRIALS)
            self.dense_scale = _next_scale(self.dense_scale, dense_factor, dense_cap, MAX_DENSE_TRIALS)
            return moved, loss

    def reduce(self, factor):
        """Scale every step down by ``factor`` and forget Adam's moments."""
        self.step_scales = [scale * factor for scale in self.step_scales]
        self.dense_scale *= factor
        self.dense_optimizer.reset()

    def state_dict(self):
        return {"step_scales": list(self.step_scales), "dense_scale": self.dense_scale,
                "adam": self.dense_optimizer.state_dict()}

    def load_state_dict(self, state):
        self.step_scales, self.dense_scale = list(state["step_scales"]), state["dense_scale"]
        self.dense_optimizer.load_state_dict(state["adam"])


class _SquaredNorm:
    """``||x + t d||^2`` summed over pairs of tensors ``x``, ``d``, as a
    function of ``t``: three inner products once (in float64, so that the
    quadratic's cancellation costs no more than the tensors' own rounding),
    then a quadratic in ``t`` per call: a line search's trials cost no
    tensor operations."""

    def __init__(self, origins, directions):
        if not origins:
            self.origin_norm = self.cross = self.direction_norm = 0.0
            return
        flat = torch.cat([t.reshape(-1) for t in (*origins, *directions)]).view(2, -1).double()
        (self.origin_norm, self.cross), (_, self.direction_norm) = (flat @ flat.t()).tolist()

    def __call__(self, t):
        return self.origin_norm + t * (2 * self.cross + t * self.direction_norm)


class _DenseStep:
    """Adam's step for the dense parameters, as a direction to move along.

    When Adam's momentum points uphill on this batch (as it can after other
    batches), it restarts: the step becomes the gradient divided by Adam's
    second-moment estimate, which always points downhill. ``grads``: {name:
    gradient} of the parameters that move; ``penalized``: the names of those
    among them that the L2 penalty covers.
    """

    def __init__(self, optimizer, grads, scale, penalized):
        self.params, self.scale = {name: optimizer.params[name] for name in grads}, scale
        self.origin = {name: param.clone() for name, param in self.params.items()}
        self.steps = optimizer.direction(grads)
        slope = optimizer.slope()
        if slope > 0:
            self.steps = optimizer.restart_momentum(grads)
            slope = optimizer.slope()
        self.slope = scale * slope  # the objective's derivative along the full step
        self._norm = _SquaredNorm([self.origin[k] for k in penalized], [self.steps[k] for k in penalized])
        self._factor = 0.0

    def move(self, factor):
        """Set the parameters to ``origin + factor * scale * step``."""
        for name, param in self.params.items():
            torch.add(self.origin[name], self.steps[name], alpha=factor * self.scale, out=param)
        self._factor = factor

    def squared_norm(self):
        """The squared norm of the penalised parameters where they now are."""
        return self._norm(self._factor * self.scale)


def _backtrack(objective, value, slope, tolerance, max_trials=MAX_TRIALS):
    """Armijo's backtracking: the first factor of 1, 1/2, 1/4, ... (at most
    ``max_trials`` of them) whose ``objective(factor)`` is at most ``value +
    ARMIJO * factor * slope + tolerance``, and that objective; (0, value)
    when none is (the step is not taken). A non-finite objective fails."""
    factor = 1.0
    for _ in range(max_trials):
        trial = objective(factor)
        if trial <= value + ARMIJO * factor * slope + tolerance:
            return factor, trial
        factor *= SHRINK
    return 0.0, value


def _next_scale(scale, factor, cap, max_trials):
    """A step multiplier after a search of at most ``max_trials`` lengths that
    accepted ``factor``: grown (up to ``cap``) after a full step, else cut to
    the accepted length (to the next shorter one when none passed)."""
    if factor == 1.0:
        return min(scale * GROWTH, cap)
    return scale * (factor or SHRINK**max_trials)

