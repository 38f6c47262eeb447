"""Global backpropagation on all cores at once (Gao et al.'s MPO-Net).

The baseline that the DMRG-like sweep is measured against.
"""

import torch


class BackpropTrainer:
    """Adam, or SGD with Nesterov momentum, on every parameter of the network.

    Parameters
    ----------
    network : TNNetwork
    loss : callable(batch_index, replaced=None) -> scalar tensor
    solver : {'adam', 'sgd'}
    learning_rate : float
    """

    def __init__(self, network, loss, solver, learning_rate):
        self.loss = loss
        params = [p for p in network.parameters() if p.requires_grad]
        if solver == "adam":
            self.optimizer = torch.optim.Adam(params, lr=learning_rate)
        else:
            self.optimizer = torch.optim.SGD(params, lr=learning_rate, momentum=0.9, nesterov=True)

    def run_iteration(self, stream):
        """One epoch over the mini-batches; returns the mean batch loss."""
        total = 0.0
        for _ in range(stream.n_batches):
            self.optimizer.zero_grad()
            loss = self.loss(stream.next())
            if not torch.isfinite(loss):
                raise FloatingPointError("the training loss is not finite")
            loss.backward()
            self.optimizer.step()
            total += loss.item()
        return total / stream.n_batches
