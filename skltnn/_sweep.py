"""The DMRG-like two-site sweep that trains the MPO cores (Jahromi & Orús, Sec. III)."""

import math

import torch
from torch import nn

from ._contract import merge_pair, squared_norm
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
    right = [[(layer, k, "right") for k in range(n - 1)] for layer, n in enumerate(n_cores_per_layer)]
    left = [[(layer, k, "left") for k in reversed(range(n - 1))] for layer, n in enumerate(n_cores_per_layer)]
    if strategy == "all_layers":
        return [v for sweep in right for v in sweep] + [v for sweep in reversed(left) for v in sweep]
    return [v for r, lft in zip(right, left) for v in r + lft]


class DMRGSweeper:
    """Two-site updates of every TN layer of a :class:`TNNetwork`.

    For each visited bond: merge the two cores into the bond tensor B, take
    an epoch of mini-batch gradient steps on B (and the dense parameters),
    the gradients by autograd through the whole network, then split B by a
    truncated SVD so that the orthogonality centre moves with the sweep. Because the
    other cores of the layer are isometries, the kept singular values are
    exactly that bond's spectrum and the gradient step on B is a
    well-conditioned step on W.

    Parameters
    ----------
    network : TNNetwork
    learning_rate : float
        Step on the bond tensors; the dense parameters take Adam steps of
        ``DENSE_LR_RATIO`` times this.
    bond_dim : int
    svd_cutoff : float
    strategy : {'all_layers', 'layer_by_layer'}
    """

    def __init__(self, network, learning_rate, bond_dim, svd_cutoff, strategy):
        self.network = network
        self.learning_rate = learning_rate
        self.bond_dim = bond_dim
        self.svd_cutoff = svd_cutoff
        self.schedule = bond_schedule([len(layer.cores) for layer in network.tn_layers], strategy)
        # Plain gradient steps suit the bond tensor (its environment is an
        # isometry); the dense parameters have no such conditioning and train
        # best with Adam at a smaller step.
        self.dense_optimizer = torch.optim.Adam(
            network.dense_parameters(), lr=learning_rate * DENSE_LR_RATIO, fused=True
        )
        # A sweep starts at the left end: centre on core 0, the rest right-orthonormal.
        with torch.no_grad():
            for layer in network.tn_layers:
                cores = right_orthonormalize([c.detach() for c in layer.cores], 0)
                _set_cores(layer, cores)

    def run_iteration(self, loss_fn, l2, stream):
        """One back-and-forth sweep. Returns the mean training loss of its steps.

        Parameters
        ----------
        loss_fn : callable(batch_index, replaced=None) -> scalar tensor
            The data term of the objective on a batch, ``replaced`` as in
            ``network.head``.
        l2 : float
            The objective adds ``l2 * sum ||W||_F^2`` over the TN and output
            weights.
        stream : BatchStream
        """
        losses = [self.update_bond(layer, bond, direction, loss_fn, l2, stream)
                  for layer, bond, direction in self.schedule]
        return sum(losses) / len(losses)

    def update_bond(self, layer_index, bond, direction, loss_fn, l2, stream):
        """Optimise one bond tensor for an epoch of mini-batches, then split it.

        Returns the mean loss over the epoch's steps.
        """
        layer = self.network.tn_layers[layer_index]
        cores = [c.detach() for c in layer.cores]
        d_left, i1, o1, _ = cores[bond].shape
        _, i2, o2, d_right = cores[bond + 1].shape
        # B in the layout of a merged core, (D_left, i1 i2, o1 o2, D_right), so
        # that each step uses it as it is.
        B = merge_pair(cores[bond], cores[bond + 1]).requires_grad_(True)
        output_weight = self.network.output.weight
        if l2:
            # The other cores are isometries, so this layer's ||W||^2 is ||B||^2;
            # the other layers' norms are constant during the visit.
            others = sum(float(squared_norm([c.detach() for c in other.cores]))
                         for other in self.network.tn_layers if other is not layer)
        dense = self.network.dense_parameters()
        out = next(k for k, p in enumerate(dense) if p is output_weight)
        total = 0.0
        for _ in range(stream.n_batches):
            replaced = (layer_index, cores[:bond] + [B] + cores[bond + 2:])
            loss = loss_fn(stream.next(), replaced)
            grad_B, *grads = torch.autograd.grad(loss, [B, *dense], allow_unused=True)
            with torch.no_grad():
                if l2:
                    # The penalty's gradient in closed form keeps it out of the graph.
                    loss = loss.detach() + l2 * (B.pow(2).sum() + output_weight.pow(2).sum() + others)
                    grad_B = grad_B.add(B, alpha=2 * l2)
                    penalty_grad = 2 * l2 * output_weight
                    grads[out] = penalty_grad if grads[out] is None else grads[out] + penalty_grad
                value = loss.item()
                if not math.isfinite(value):
                    raise FloatingPointError("the training loss is not finite")
                B -= self.learning_rate * grad_B
                for p, g in zip(dense, grads):
                    p.grad = g
                self.dense_optimizer.step()
            total += value

        with torch.no_grad():
            pair = B.reshape(d_left, i1, i2, o1, o2, d_right).permute(0, 1, 3, 2, 4, 5)
            u, s, vh = svd(pair.reshape(d_left * i1 * o1, i2 * o2 * d_right))
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
