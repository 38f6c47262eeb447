"""Global backpropagation on all cores at once (Gao et al.'s MPO-Net).

The baseline that the DMRG-like sweep is measured against.
"""

import math
from abc import abstractmethod

import torch

from ._base import Solver


class BackpropSolver(Solver):
    """A ``torch.optim`` optimiser on every parameter of the network.

    The L2 penalty is added to each batch's loss, the MPO norms computed
    exactly from the cores. Subclasses choose the optimiser.
    """

    def __init__(self, network, *, learning_rate, bond_dim):
        super().__init__(network, learning_rate=learning_rate, bond_dim=bond_dim)
        self.optimizer = self._make_optimizer([p for p in network.parameters() if p.requires_grad])

    @abstractmethod
    def _make_optimizer(self, params):
        """The ``torch.optim`` optimiser of ``params``."""

    def run_iteration(self, objective, l2, stream):
        total = 0.0
        for _ in range(stream.n_batches):
            self.optimizer.zero_grad()
            loss = objective(stream.next())
            if l2:
                loss = loss + l2 * self.network.squared_weight_norm()
            loss.backward()
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError("the training loss is not finite")
            self.optimizer.step()
            total += value
        return total / stream.n_batches

    def reduce_step(self, factor):
        for group in self.optimizer.param_groups:
            group["lr"] *= factor
        self.optimizer.state.clear()

    def bond_spectra(self):
        return [layer.bond_spectra() for layer in self.network.tn_layers]

    def state_dict(self):
        state = self.optimizer.state_dict()
        return {"state": {key: {name: value.clone() if torch.is_tensor(value) else value
                                for name, value in entry.items()}
                          for key, entry in state["state"].items()},
                "param_groups": [dict(group) for group in state["param_groups"]]}

    def load_state_dict(self, state):
        self.optimizer.load_state_dict(state)


class AdamSolver(BackpropSolver):
    """Adam (fused where torch has the kernel) on every parameter."""

    def _make_optimizer(self, params):
        return torch.optim.Adam(params, lr=self.learning_rate, fused=True)


# 'adaptive' stops once its step is below this, as scikit-learn's MLP.
MIN_ADAPTIVE_STEP = 1e-6


class SGDSolver(BackpropSolver):
    """SGD with Nesterov momentum 0.9 on every parameter, on scikit-learn's
    MLP learning-rate schedules.

    The step is ``scale * learning_rate`` ('constant', 'adaptive') or
    ``scale * learning_rate / (t + 1) ** power_t`` after an epoch
    ('invscaling', t the samples seen); ``scale`` starts at 1 and shrinks
    on a divergence (:meth:`reduce_step`) and, with 'adaptive', by 5 on
    each plateau.
    """

    settings = {"schedule": "learning_rate", "power_t": "power_t"}

    def __init__(self, network, *, learning_rate, bond_dim, schedule="constant", power_t=0.5):
        super().__init__(network, learning_rate=learning_rate, bond_dim=bond_dim)
        self.schedule, self.power_t = schedule, power_t
        self.scale, self.samples_seen = 1.0, 0

    def _make_optimizer(self, params):
        return torch.optim.SGD(params, lr=self.learning_rate, momentum=0.9, nesterov=True)

    def run_iteration(self, objective, l2, stream):
        loss = super().run_iteration(objective, l2, stream)
        self.samples_seen += stream.n_samples
        self._set_step()
        return loss

    def _set_step(self):
        step = self.scale * self.learning_rate
        if self.schedule == "invscaling":
            step /= (self.samples_seen + 1) ** self.power_t
        for group in self.optimizer.param_groups:
            group["lr"] = step

    @property
    def step(self):
        """The step size of the next update."""
        return self.optimizer.param_groups[0]["lr"]

    def reduce_step(self, factor):
        super().reduce_step(factor)
        self.scale *= factor

    def on_plateau(self):
        if self.schedule != "adaptive" or self.step <= MIN_ADAPTIVE_STEP:
            return False
        self.scale /= 5
        self._set_step()
        return True

    def state_dict(self):
        return {"optimizer": super().state_dict(), "scale": self.scale, "samples_seen": self.samples_seen}

    def load_state_dict(self, state):
        super().load_state_dict(state["optimizer"])
        self.scale, self.samples_seen = state["scale"], state["samples_seen"]
