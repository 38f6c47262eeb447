"""Global backpropagation on all cores at once (Gao et al.'s MPO-Net).

The baseline that the DMRG-like sweep is measured against.
"""

import math

import torch


class BackpropTrainer:
    """Adam, or SGD with Nesterov momentum, on every parameter of the network.

    Parameters
    ----------
    network : TNNetwork
    loss : callable(batch_index, replaced=None) -> scalar tensor
        The data term of the objective on a batch.
    l2 : float
        The objective adds ``l2 * sum ||W||_F^2`` over the TN and output
        weights, the MPO norms computed exactly from the cores.
    solver : {'adam', 'sgd'}
    learning_rate : float
    """

    def __init__(self, network, loss, l2, solver, learning_rate):
        self.network = network
        self.loss = loss
        self.l2 = l2
        params = [p for p in network.parameters() if p.requires_grad]
        if solver == "adam":
            self.optimizer = torch.optim.Adam(params, lr=learning_rate, fused=True)
        else:
            self.optimizer = torch.optim.SGD(params, lr=learning_rate, momentum=0.9, nesterov=True)

    def run_iteration(self, stream):
        """One epoch over the mini-batches; returns the mean batch loss."""
        total = 0.0
        for _ in range(stream.n_batches):
            self.optimizer.zero_grad()
            loss = self.loss(stream.next())
            if self.l2:
                loss = loss + self.l2 * self.network.squared_weight_norm()
            loss.backward()
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError("the training loss is not finite")
            self.optimizer.step()
            total += value
        return total / stream.n_batches
