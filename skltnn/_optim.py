"""Adam for the sweep's dense parameters, with little per-step overhead."""

import math

import torch


class Adam:
    """Adam (Kingma & Ba, 2015) on a fixed list of tensors, updated in place.

    The update of ``torch.optim.Adam`` without weight decay, in six
    multi-tensor operations. A sweep step on a small network takes a few
    hundred microseconds, and ``torch.optim``'s per-step bookkeeping (hooks,
    parameter groups, state lookups) would add a third to it.

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
    def step(self, grads):
        """One update from ``grads``, one per parameter."""
        beta1, beta2 = self.betas
        self.n_steps += 1
        torch._foreach_lerp_(self.first_moments, grads, 1 - beta1)
        torch._foreach_mul_(self.second_moments, beta2)
        torch._foreach_addcmul_(self.second_moments, grads, grads, 1 - beta2)
        # lr / c1 * m / (sqrt(v / c2) + eps) with the bias corrections c1, c2,
        # rearranged to save an operation.
        sqrt_c2 = math.sqrt(1 - beta2**self.n_steps)
        denominators = torch._foreach_sqrt(self.second_moments)
        torch._foreach_add_(denominators, self.eps * sqrt_c2)
        step_size = self.learning_rate * sqrt_c2 / (1 - beta1**self.n_steps)
        torch._foreach_addcdiv_(self.params, self.first_moments, denominators, -step_size)
