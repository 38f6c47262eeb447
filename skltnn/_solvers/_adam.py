"""Adam for the sweep's dense parameters, with little per-step overhead."""

import math

import torch


class Adam:
    """Adam (Kingma & Ba, 2015) on a fixed set of named tensors.

    The update of ``torch.optim.Adam`` without weight decay, its moments
    held in one flat tensor so that a step is a few operations whatever the
    number of parameters: a sweep step on a small network is short, and
    ``torch.optim``'s per-step bookkeeping (hooks, parameter groups, state
    lookups) would be a large part of it. Above all the
    sweep's line search needs the update as a direction that it can scale
    before applying it (:meth:`direction`), and one that points downhill
    (:meth:`restart_momentum`), which ``torch.optim`` does not give;
    :meth:`step` applies it in full.

    Parameters
    ----------
    params : dict of str to torch.Tensor
        The parameters by name, in the order of their moments: a
        :meth:`direction` for some of them takes the last ones.
    learning_rate : float
    betas : (float, float)
    eps : float
    """

    def __init__(self, params, learning_rate, betas=(0.9, 0.999), eps=1e-8):
        self.params = dict(params)
        self.learning_rate = learning_rate
        self.betas = betas
        self.eps = eps
        self.n_steps = 0
        sizes = [p.numel() for p in self.params.values()]
        self.first_moment = next(iter(self.params.values())).new_zeros(sum(sizes))
        self.second_moment = torch.zeros_like(self.first_moment)
        # The steps of the last parameters, as views of one buffer made once:
        # splitting a new tensor per step would cost more than the step.
        self._step_buffer = torch.zeros_like(self.first_moment)
        self._tails = {}  # names -> (offset of the first, their step views)
        names, offset = list(self.params), 0
        for k, size in enumerate(sizes):
            tail = names[k:]
            views = self._step_buffer[offset:].split(sizes[k:])
            self._tails[tuple(tail)] = offset, {name: view.view_as(self.params[name])
                                                for name, view in zip(tail, views)}
            offset += size

    @torch.no_grad()
    def direction(self, grads):
        """Update the moments of the parameters named in ``grads`` (a dict
        of their gradients: the last parameters, in order) and return Adam's
        step for them, by name.

        The step count (for the bias corrections) counts every call: the
        other parameters keep their moments as they were. The steps are
        views of a buffer that the next call of this method or of
        :meth:`restart_momentum` overwrites.
        """
        beta1, beta2 = self.betas
        self.n_steps += 1
        offset, steps = self._tail(grads)
        self._grad = grad = _flat(grads.values())
        self.first_moment[offset:].lerp_(grad, 1 - beta1)
        self.second_moment[offset:].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        return self._steps(offset, steps)

    @torch.no_grad()
    def restart_momentum(self, grads):
        """Set the momentum of the parameters named in ``grads`` to those
        gradients (given to :meth:`direction` last) and return the step
        without momentum, ``-lr g / (sqrt(v_hat) + eps)``.

        With its positive diagonal preconditioner this step always points
        downhill, where momentum from earlier batches may not.
        """
        offset, steps = self._tail(grads)
        self._grad = _flat(grads.values())
        self.first_moment[offset:].copy_(self._grad).mul_(1 - self.betas[0] ** self.n_steps)
        return self._steps(offset, steps)

    def slope(self):
        """The inner product of the last step returned and the gradients it
        was made from: the objective's derivative along that step."""
        return float(self._grad @ self._step)

    def _tail(self, grads):
        try:
            return self._tails[tuple(grads)]
        except KeyError:
            raise ValueError(f"Adam steps the last of its parameters {list(self.params)}, in order; "
                             f"got {list(grads)}") from None

    def _steps(self, offset, steps):
        # -lr / c1 * m / (sqrt(v / c2) + eps) with the bias corrections c1, c2,
        # rearranged to save an operation, into the buffer that ``steps`` views.
        sqrt_c2 = math.sqrt(1 - self.betas[1] ** self.n_steps)
        flat = torch.sqrt(self.second_moment[offset:], out=self._step_buffer[offset:]).add_(self.eps * sqrt_c2)
        torch.div(self.first_moment[offset:], flat, out=flat)
        self._step = flat.mul_(-self.learning_rate * sqrt_c2 / (1 - self.betas[0] ** self.n_steps))
        return steps

    @torch.no_grad()
    def step(self, grads):
        """One full update from ``grads`` ({name: gradient}, every parameter)."""
        for name, step in self.direction(grads).items():
            self.params[name].add_(step)

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
