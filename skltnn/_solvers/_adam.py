"""Adam for the sweep's dense parameters, with little per-step overhead."""

import math

import torch


class Adam:
    """Adam (Kingma & Ba, 2015) on a fixed list of tensors.

    The update of ``torch.optim.Adam`` without weight decay, its moments
    held in one flat tensor so that a step is a few operations whatever the
    number of parameters. A sweep step on a small network takes a few
    hundred microseconds, and ``torch.optim``'s per-step bookkeeping (hooks,
    parameter groups, state lookups) would add a third to it. Above all the
    sweep's line search needs the update as a direction that it can scale
    before applying it (:meth:`direction`), and one that points downhill
    (:meth:`restart_momentum`), which ``torch.optim`` does not give;
    :meth:`step` applies it in full.

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
        self._sizes = [p.numel() for p in self.params]
        self.first_moment = self.params[0].new_zeros(sum(self._sizes))
        self.second_moment = torch.zeros_like(self.first_moment)
        # The steps of the parameters from a start on, as views of one buffer
        # made once: splitting a new tensor per step would cost more than the step.
        self._step_buffer = torch.zeros_like(self.first_moment)
        self._step_views = {}

    @torch.no_grad()
    def direction(self, grads, start=0):
        """Update the moments of ``params[start:]`` with ``grads`` (one per
        parameter from ``start`` on) and return Adam's step for them.

        The step count (for the bias corrections) counts every call: the
        parameters before ``start`` keep their moments as they were. The
        step is a view of a buffer that the next call of this method or of
        :meth:`restart_momentum` overwrites.
        """
        beta1, beta2 = self.betas
        self.n_steps += 1
        self._grad = grad = _flat(grads)
        offset = self._offset(start)
        self.first_moment[offset:].lerp_(grad, 1 - beta1)
        self.second_moment[offset:].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        return self._steps(start)

    @torch.no_grad()
    def restart_momentum(self, grads, start=0):
        """Set the momentum of ``params[start:]`` to the last ``grads`` (given
        to :meth:`direction`) and return the step without momentum,
        ``-lr g / (sqrt(v_hat) + eps)``.

        With its positive diagonal preconditioner this step always points
        downhill, where momentum from earlier batches may not.
        """
        self._grad = _flat(grads)
        self.first_moment[self._offset(start):].copy_(self._grad).mul_(1 - self.betas[0] ** self.n_steps)
        return self._steps(start)

    def slope(self):
        """The inner product of the last step returned and the gradients it
        was made from: the objective's derivative along that step."""
        return float(self._grad @ self._step)

    def _offset(self, start):
        return sum(self._sizes[:start])

    def _steps(self, start):
        # -lr / c1 * m / (sqrt(v / c2) + eps) with the bias corrections c1, c2,
        # rearranged to save an operation, into the buffer that _step_views shows.
        offset = self._offset(start)
        sqrt_c2 = math.sqrt(1 - self.betas[1] ** self.n_steps)
        steps = torch.sqrt(self.second_moment[offset:], out=self._step_buffer[offset:]).add_(self.eps * sqrt_c2)
        torch.div(self.first_moment[offset:], steps, out=steps)
        self._step = steps.mul_(-self.learning_rate * sqrt_c2 / (1 - self.betas[0] ** self.n_steps))
        if start not in self._step_views:
            self._step_views[start] = [step.view_as(param) for step, param in
                                       zip(steps.split(self._sizes[start:]), self.params[start:])]
        return self._step_views[start]

    @torch.no_grad()
    def step(self, grads):
        """One full update from ``grads``, one per parameter."""
        for param, step in zip(self.params, self.direction(grads)):
            param.add_(step)

    def state_dict(self):
        """The step count and detached copies of the moments."""
        return {"n_steps": self.n_steps, "first_moment": self.first_moment.clone(),
                "second_moment": self.second_moment.clone()}

    @torch.no_grad()
    def load_state_dict(self, state):
        self.n_steps = state["n_steps"]
        self.first_moment.copy_(state["first_moment"])
        self.second_moment.copy_(state["second_moment"])

    def reset(self):
        """Forget the moments (after the parameters were set back)."""
        self.n_steps = 0
        self.first_moment.zero_()
        self.second_moment.zero_()


def _flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])
