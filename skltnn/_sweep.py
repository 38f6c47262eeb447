"""The DMRG-like two-site sweep that trains the MPO cores (Jahromi & Orús, Sec. III)."""

import torch
from torch import nn

from ._linalg import svd, truncation_rank
from ._mpo import right_orthonormalize

DENSE_LR_RATIO = 0.2


def bond_schedule(n_cores_per_layer, strategy):
    """The (layer, bond, direction) visits of one iteration.

    'all_layers' (the paper's PaL) treats the layers as one long chain: every
    layer's bonds left to right, first layer to last, then all the way back.
    'layer_by_layer' (LbL) does a full back-and-forth sweep of one layer
    before moving to the next.
    """
    right = [[(l, k, "right") for k in range(n - 1)] for l, n in enumerate(n_cores_per_layer)]
    left = [[(l, k, "left") for k in reversed(range(n - 1))] for l, n in enumerate(n_cores_per_layer)]
    if strategy == "all_layers":
        return [v for sweep in right for v in sweep] + [v for sweep in reversed(left) for v in sweep]
    return [v for r, lft in zip(right, left) for v in r + lft]


class DMRGSweeper:
    """Two-site updates of every TN layer of a :class:`TNNetwork`.

    For each visited bond: merge the two cores into the bond tensor B, take
    the gradient of the loss with respect to B (and the dense parameters) by
    autograd through the whole network, step, then split B by a truncated
    SVD so that the orthogonality centre moves with the sweep. Because the
    other cores of the layer are isometries, the kept singular values are
    exactly that bond's spectrum and the gradient step on B is a
    well-conditioned step on W.

    Parameters
    ----------
    network : TNNetwork
    loss : callable(batch_index, replaced=None) -> scalar tensor
        The training objective on a batch, ``replaced`` as in ``network.head``.
    learning_rate : float
        Step on the bond tensors; the dense parameters take Adam steps of
        ``DENSE_LR_RATIO`` times this.
    bond_dim : int
    svd_cutoff : float
    strategy : {'all_layers', 'layer_by_layer'}
    """

    def __init__(self, network, loss, learning_rate, bond_dim, svd_cutoff, strategy):
        self.network = network
        self.loss = loss
        self.learning_rate = learning_rate
        self.bond_dim = bond_dim
        self.svd_cutoff = svd_cutoff
        self.schedule = bond_schedule([len(layer.cores) for layer in network.tn_layers], strategy)
        # Plain gradient steps suit the bond tensor (its environment is an
        # isometry); the dense parameters have no such conditioning and train
        # best with Adam at a smaller step.
        self.dense_optimizer = torch.optim.Adam(network.dense_parameters(), lr=learning_rate * DENSE_LR_RATIO)
        # A sweep starts at the left end: centre on core 0, the rest right-orthonormal.
        with torch.no_grad():
            for layer in network.tn_layers:
                cores = right_orthonormalize([c.detach() for c in layer.cores], 0)
                _set_cores(layer, cores)

    def run_iteration(self, stream):
        """One back-and-forth sweep. Returns the mean training loss of its steps."""
        losses = [self.update_bond(layer, bond, direction, stream)
                  for layer, bond, direction in self.schedule]
        return sum(losses) / len(losses)

    def update_bond(self, layer_index, bond, direction, stream):
        """Optimise one bond tensor for an epoch of mini-batches, then split it.

        Returns the mean loss over the epoch's steps.
        """
        layer = self.network.tn_layers[layer_index]
        cores = [c.detach() for c in layer.cores]
        left, right = cores[bond], cores[bond + 1]
        d_left, i1, o1, _ = left.shape
        _, i2, o2, d_right = right.shape
        B = torch.einsum("aiob,bjpc->aiojpc", left, right).requires_grad_(True)
        dense = self.network.dense_parameters()
        total = 0.0
        for _ in range(stream.n_batches):
            merged = B.permute(0, 1, 3, 2, 4, 5).reshape(d_left, i1 * i2, o1 * o2, d_right)
            replaced = (layer_index, cores[:bond] + [merged] + cores[bond + 2:])
            loss = self.loss(stream.next(), replaced)
            if not torch.isfinite(loss):
                raise FloatingPointError("the training loss is not finite")
            grads = torch.autograd.grad(loss, [B, *dense], allow_unused=True)
            with torch.no_grad():
                B -= self.learning_rate * grads[0]
                for p, g in zip(dense, grads[1:]):
                    p.grad = g
                self.dense_optimizer.step()
            total += loss.item()

        with torch.no_grad():
            u, s, vh = svd(B.reshape(d_left * i1 * o1, i2 * o2 * d_right))
            rank = truncation_rank(s, self.bond_dim, self.svd_cutoff)
            u, s, vh = u[:, :rank], s[:rank], vh[:rank]
            if direction == "right":  # U stays left-orthonormal, the centre moves right
                cores[bond], cores[bond + 1] = u, s[:, None] * vh
            else:
                cores[bond], cores[bond + 1] = u * s, vh
            cores[bond] = cores[bond].reshape(d_left, i1, o1, rank)
            cores[bond + 1] = cores[bond + 1].reshape(rank, i2, o2, d_right)
            _set_cores(layer, cores)
        return total / stream.n_batches


def _set_cores(layer, cores):
    """Replace a layer's cores (their bond dimensions may have changed)."""
    layer.cores = nn.ParameterList(nn.Parameter(c.contiguous()) for c in cores)
