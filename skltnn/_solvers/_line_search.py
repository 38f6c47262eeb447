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
    ``MAX_DENSE_SCALE`` for the dense parameters) and shrinks to the length
    accepted otherwise, so the step follows the curvature up and down.

    The dense search starts where the bond tensor's ended, but its slope is
    the one at the start of the step: after a long bond step Adam's step
    may point uphill at any length. That search therefore gives up after
    ``MAX_DENSE_TRIALS`` lengths: the dense parameters then stay put for
    this step, and their multiplier becomes half the shortest length tried.

    Parameters
    ----------
    dense_params : list of torch.Tensor
        The dense parameters, trained by Adam at ``DENSE_LR_RATIO`` times
        the learning rate: they lack the bond tensor's conditioning (its
        environment is an isometry) that suits plain gradient steps.
    penalized : list of torch.Tensor
        Those of ``dense_params`` that the L2 penalty covers.
    learning_rate : float
    n_layers : int
        One step multiplier per TN layer.
    """

    def __init__(self, dense_params, penalized, learning_rate, n_layers):
        self.learning_rate = learning_rate
        self.step_scales = [1.0] * n_layers
        self.dense_scale = 1.0
        self.dense_optimizer = Adam(dense_params, learning_rate * DENSE_LR_RATIO)
        self.penalized = [k for k, p in enumerate(self.dense_optimizer.params) if any(p is q for q in penalized)]

    def step(self, layer_index, problem, index, B, l2, others):
        """One step on the batch ``index``; returns the new B and the objective before the step.

        ``problem`` gives the visit's data term and its gradients
        (``gradients(index, B)``, ``loss(index, B)``), those of the dense
        parameters from ``problem.dense_start`` on; ``others`` is the
        squared norm of the weights that the visit does not change. Both
        blocks first try their full step in one trial, which most steps
        pass. Otherwise each searches its own length in turn: the bond
        tensor along its gradient, then the dense parameters along Adam's
        step (from the gradient at the start of the step).
        """
        loss, grad_B, grads = problem.gradients(index, B)
        start = problem.dense_start
        params = self.dense_optimizer.params
        # The step moves the dense parameters from ``start`` on (``grads[k - start]``),
        # among them the output layer's weight, the one that the L2 penalty covers.
        moving = [k for k in self.penalized if k >= start]
        penalized = [params[k] for k in moving]

        def penalty(bond):
            total = bond.square().sum()
            for param in penalized:
                total = total + param.square().sum()
            return l2 * (total + others)

        def objective(bond):
            value = problem.loss(index, bond)
            return float(value + penalty(bond) if l2 else value)

        with torch.no_grad():
            if l2:
                # The penalty's gradient in closed form keeps it out of the graph.
                loss = loss + penalty(B)
                grad_B = grad_B.add_(B, alpha=2 * l2)
                for k in moving:
                    grads[k - start] = grads[k - start].add_(params[k], alpha=2 * l2)
            loss = float(loss)
            if not math.isfinite(loss):
                raise FloatingPointError("the training loss is not finite")
            # Differences of a few rounding errors are not a rise in the objective.
            tolerance = NOISE_ULPS * torch.finfo(B.dtype).eps * abs(loss)
            dense = _DenseStep(self.dense_optimizer, grads, self.dense_scale, start)
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
                                             dense.slope, tolerance, MAX_DENSE_TRIALS)
                if not dense_factor:  # the parameters hold the last factor tried
                    dense.move(0.0)
            self.step_scales[layer_index] = _next_scale(self.step_scales[layer_index], bond_factor, MAX_SCALE,
                                                        MAX_TRIALS)
            self.dense_scale = _next_scale(self.dense_scale, dense_factor, MAX_DENSE_SCALE, MAX_DENSE_TRIALS)
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


class _DenseStep:
    """Adam's step for the dense parameters, as a direction to move along.

    When Adam's momentum points uphill on this batch (as it can after other
    batches), it restarts: the step becomes the gradient divided by Adam's
    second-moment estimate, which always points downhill.
    """

    def __init__(self, optimizer, grads, scale, start):
        self.params, self.scale = optimizer.params[start:], scale
        self.origin = [p.clone() for p in self.params]
        self.steps = optimizer.direction(grads, start)
        slope = optimizer.slope()
        if slope > 0:
            self.steps = optimizer.restart_momentum(grads, start)
            slope = optimizer.slope()
        self.slope = scale * slope  # the objective's derivative along the full step

    def move(self, factor):
        """Set the parameters to ``origin + factor * scale * step``."""
        for param, value, step in zip(self.params, self.origin, self.steps):
            torch.add(value, step, alpha=factor * self.scale, out=param)


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

