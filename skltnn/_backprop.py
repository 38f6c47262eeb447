"""Global backpropagation on all cores at once (Gao et al.'s MPO-Net).

The baseline that the DMRG-like sweep is measured against.
"""

import math

import torch

from ._mpo import bond_spectra


class BackpropTrainer:
    """Adam, or SGD with Nesterov momentum, on every parameter of the network.

    Parameters
    ----------
    network : TNNetwork
    solver : {'adam', 'sgd'}
    learning_rate : float
    """

    def __init__(self, network, solver, learning_rate):
        self.network = network
        params = [p for p in network.parameters() if p.requires_grad]
        if solver == "adam":
            self.optimizer = torch.optim.Adam(params, lr=learning_rate, fused=True)
        else:
            self.optimizer = torch.optim.SGD(params, lr=learning_rate, momentum=0.9, nesterov=True)

    def run_iteration(self, loss_fn, l2, stream):
        """One epoch over the mini-batches; returns the mean batch loss.

        Parameters
        ----------
        loss_fn : callable(batch_index) -> scalar tensor
            The data term of the objective on a batch.
        l2 : float
            The objective adds ``l2 * sum ||W||_F^2`` over the TN and output
            weights, the MPO norms computed exactly from the cores.
        stream : BatchStream
        """
        total = 0.0
        for _ in range(stream.n_batches):
            self.optimizer.zero_grad()
            loss = loss_fn(stream.next())
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
        """Scale the learning rate by ``factor`` and forget the optimiser's state (after a divergence)."""
        for group in self.optimizer.param_groups:
            group["lr"] *= factor
        self.optimizer.state.clear()

    def bond_spectra(self):
        """Per TN layer, the singular values of each bond."""
        with torch.no_grad():
            return [bond_spectra([c.detach() for c in layer.cores]) for layer in self.network.tn_layers]
