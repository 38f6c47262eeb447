"""Adam for the sweep's dense parameters, with little per-step overhead."""

import math

import torch


class Adam:
    """Adam (Kingma & Ba, 2015) on a fixed list of tensors.

    The update of ``torch.optim.Adam`` without weight decay, in a few
    multi-tensor operations. A sweep step on a small network takes a few
    hundred microseconds, and ``torch.optim``'s per-step bookkeeping (hooks,
    parameter groups, state lookups) would add a third to it. The sweep's line
    search needs the update as a direction that it can scale before applying
    it (:meth:`direction`), and one that points downhill
    (:meth:`restart_momentum`); :meth:`step` applies it in full.

    Parameters
    ----------
    params : list of torch.Tensor
    learning_rate : float
    betas : (float, float)
    eps : float
    """

    def __init__(self, params, learning_rate, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.learning_rate = learning_rate
        self.betas = betas
        self.eps = eps
        self.n_steps = 0
        self.first_moments = [torch.zeros_like(p) for p in self.params]
        self.second_moments = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def direction(self, grads):
        """Update the moments with ``grads`` and return Adam's step, one tensor per parameter."""
        beta1, beta2 = self.betas
        self.n_steps += 1
        torch._foreach_lerp_(self.first_moments, grads, 1 - beta1)
        torch._foreach_mul_(self.second_moments, beta2)
        torch._foreach_addcmul_(self.second_moments, grads, grads, 1 - beta2)
        return self._steps()

    @torch.no_grad()
    def restart_momentum(self, grads):
        """Set the momentum to the last ``grads`` (given to :meth:`direction`)
        and return the step without momentum, ``-lr g / (sqrt(v_hat) + eps)``.

        With its positive diagonal preconditioner this step always points
        downhill, where momentum from earlier batches may not.
        """
        c1 = 1 - self.betas[0] ** self.n_steps
        for moment, grad in zip(self.first_moments, grads):
            moment.copy_(grad).mul_(c1)
        return self._steps()

    def _steps(self):
        # -lr / c1 * m / (sqrt(v / c2) + eps) with the bias corrections c1, c2,
        # rearranged to save an operation.
        sqrt_c2 = math.sqrt(1 - self.betas[1] ** self.n_steps)
        denominators = torch._foreach_sqrt(self.second_moments)
        torch._foreach_add_(denominators, self.eps * sqrt_c2)
        steps = torch._foreach_div(self.first_moments, denominators)
        torch._foreach_mul_(steps, -self.learning_rate * sqrt_c2 / (1 - self.betas[0] ** self.n_steps))
        return steps

    @torch.no_grad()
    def step(self, grads):
        """One full update from ``grads``, one per parameter."""
        torch._foreach_add_(self.params, self.direction(grads))

    def reset(self):
        """Forget the moments (after the parameters were set back)."""
        self.n_steps = 0
        for moment in self.first_moments + self.second_moments:
            moment.zero_()
