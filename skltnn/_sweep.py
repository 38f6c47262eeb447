"""The DMRG-like two-site sweep that trains the MPO cores (Jahromi & Orús, Sec. III)."""

import math

import torch

from ._contract import BondMap, contraction_plan, merge_cores, merge_pair, squared_norm
from ._linalg import svd, truncation_rank
from ._mpo import bond_spectra, right_orthonormalize
from ._optim import Adam

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
    the gradients through the whole network (by hand for small layers, by
    autograd otherwise), then split B by a truncated SVD so that the
    orthogonality centre moves with the sweep. Because the other cores of
    the layer are isometries, the kept singular values are exactly that
    bond's spectrum and the gradient step on B is a well-conditioned step
    on W.

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
        self.dense_optimizer = Adam(network.dense_parameters(), learning_rate * DENSE_LR_RATIO)
        # Where the output weight's gradient sits among the dense ones (for L2).
        self._output_index = next(k for k, p in enumerate(self.dense_optimizer.params)
                                  if p is network.output.weight)
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

    def bond_spectra(self):
        """Per TN layer, the singular values of each bond.

        After a complete iteration every layer's sweep has ended on its first
        bond moving left, so its cores 1..n-1 are right-orthonormal.
        """
        with torch.no_grad():
            return [bond_spectra([c.detach() for c in layer.cores], right_canonical=True)
                    for layer in self.network.tn_layers]

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
        gradients = self._gradient_function(layer_index, cores, bond, B, loss_fn, stream.batch_size)
        output_weight, out = self.network.output.weight, self._output_index
        if l2:
            # The other cores are isometries, so this layer's ||W||^2 is ||B||^2;
            # the other layers' norms are constant during the visit.
            others = sum(float(squared_norm([c.detach() for c in other.cores]))
                         for other in self.network.tn_layers if other is not layer)
        losses, penalties = [], []
        for _ in range(stream.n_batches):
            loss, grad_B, grads = gradients(stream.next())
            with torch.no_grad():
                if l2:
                    # The penalty's gradient in closed form keeps it out of the graph.
                    penalties.append(B.view(-1) @ B.view(-1) + output_weight.view(-1) @ output_weight.view(-1))
                    grad_B = grad_B.add_(B, alpha=2 * l2)
                    grads[out] = grads[out].add_(output_weight, alpha=2 * l2)
                B.sub_(grad_B, alpha=self.learning_rate)
                self.dense_optimizer.step(grads)
            losses.append(loss)
        # One check per visit, not one device synchronisation per step.
        mean_loss = torch.stack(losses).mean()
        if l2:
            mean_loss = mean_loss + l2 * (torch.stack(penalties).mean() + others)
        mean_loss = float(mean_loss)
        if not math.isfinite(mean_loss):
            raise FloatingPointError("the training loss is not finite")

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
        return mean_loss

    def _gradient_function(self, layer_index, cores, bond, B, loss_fn, batch_size):
        """``index -> (loss, dL/dB, dL/d(dense parameters))`` for one visit.

        When the contraction plan rebuilds the layer's dense W anyway (small
        layers) and the loss offers :meth:`Objective.loss_and_gradient`, the network
        is differentiated by hand and dL/dW mapped back to dL/dB; otherwise
        autograd differentiates the whole network.
        """
        dense = self.dense_optimizer.params
        chain = cores[:bond] + [B] + cores[bond + 2:]
        plan = contraction_plan(tuple(tuple(c.shape) for c in chain), batch_size)
        if not hasattr(loss_fn, "loss_and_gradient") or plan != ((0, len(chain)),):
            replaced = (layer_index, chain)

            def autograd_gradients(index):
                loss = loss_fn(index, replaced)
                grad_B, *grads = torch.autograd.grad(loss, [B, *dense], allow_unused=True,
                                                     materialize_grads=True)
                return loss.detach(), grad_B, grads

            return autograd_gradients

        # The cores on either side of the bond are fixed during the visit.
        with torch.no_grad():
            bond_map = BondMap(merge_cores(cores[:bond]) if bond else None,
                               merge_cores(cores[bond + 2:]) if bond + 2 < len(cores) else None, B.shape)

        trainable_projection = self.network.input_projection == "trainable"

        def hand_written_gradients(index):
            with torch.no_grad():
                X = loss_fn.X[index] if trainable_projection else None
                loss, grad_W, grads = self.network.backprop(
                    X, loss_fn.inputs(index), lambda output: loss_fn.loss_and_gradient(output, index),
                    layer_index, bond_map.to_dense(B))
                return loss, bond_map.adjoint(grad_W), grads

        return hand_written_gradients


def _set_cores(layer, cores):
    """Replace the values of a layer's cores (their bond dimensions may change)."""
    for param, core in zip(layer.cores, cores):
        param.data = core.contiguous()
