"""The data term of the training objective, evaluated on mini-batches."""

import warnings

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ._device import to_tensor
from ._scaling import CHUNK_ROWS, soft_clip, standardize

# The frozen projection of the training set is cached up to this size.
EMBED_CACHE_BYTES = 64 * 2**20
# torch's CPU log-softmax runs a scalar loop along a class axis shorter than
# its vector lanes; along the samples of the transposed logits it vectorises,
# once the logits are many enough to pay for the transposed copy, or at once
# when they were computed transposed (:func:`linear_logits`).
VECTOR_LANES = 16
MIN_TRANSPOSED_LOGITS = 2048


def linear_logits(Z, weight, bias):
    """The output layer's ``Z @ weight.T + bias``, laid out for :func:`log_softmax`.

    With fewer outputs than vector lanes on the CPU, a view of the
    transposed logits (outputs, samples): their product is also faster
    than the narrow (samples, outputs) one.
    """
    if Z.device.type == "cpu" and weight.shape[0] < VECTOR_LANES:
        return torch.addmm(bias[:, None], weight, Z.t()).t()
    return torch.addmm(bias, Z, weight.t())


def log_softmax(output):
    """The log-probabilities of the logits ``output`` (samples, classes)."""
    if output.device.type == "cpu" and output.shape[1] < VECTOR_LANES:
        transposed = output.t()
        if transposed.is_contiguous() or output.numel() >= MIN_TRANSPOSED_LOGITS:
            return torch.log_softmax(transposed.contiguous(), dim=0).t()
    return torch.log_softmax(output, dim=1)


def cross_entropy(output, target):
    """Per-sample softmax cross-entropy of logits ``output`` against class indices."""
    return F.nll_loss(log_softmax(output), target, reduction="none")


def cross_entropy_gradient(output, target):
    """Per-sample cross-entropy and its gradient with respect to ``output``."""
    log_p = log_softmax(output)
    losses = F.nll_loss(log_p, target, reduction="none")
    # softmax - one_hot(target), without one_hot's range check (a device sync).
    return losses, log_p.exp_().scatter_add_(1, target[:, None], log_p.new_full((len(target), 1), -1.0))


def squared_error(output, target):
    """Per-sample half squared error, averaged over the outputs."""
    return 0.5 * (output - target).square().mean(dim=1)


def squared_error_gradient(output, target):
    """Per-sample half squared error and its gradient with respect to ``output``."""
    residual = output - target
    return 0.5 * residual.square().mean(dim=1), residual.div_(output.shape[1])


def binary_cross_entropy(output, target):
    """Per-sample binary cross-entropy of logits ``output`` against 0/1 labels, summed over the labels."""
    return F.binary_cross_entropy_with_logits(output, target, reduction="none").sum(dim=1)


def binary_cross_entropy_gradient(output, target):
    """Per-sample binary cross-entropy and its gradient with respect to ``output``."""
    return binary_cross_entropy(output, target), torch.sigmoid(output).sub_(target)


LOSSES = {
    "cross_entropy": (cross_entropy, cross_entropy_gradient),
    "binary_cross_entropy": (binary_cross_entropy, binary_cross_entropy_gradient),
    "squared_error": (squared_error, squared_error_gradient),
}


class StandardizedRows:
    """The rows of X (dense or sparse), standardised and made dense a batch at a time.

    Stands in for the training tensor ``X`` of an :class:`Objective`: indexing
    it with a slice or an index tensor gives the dense rows on the device.
    """

    def __init__(self, X, scaler, dtype, device, rows=None):
        """``dtype``: the numpy dtype of the rows (that of the network);
        ``rows``: the rows of X that this stands for, in order (all of them
        by default), so that a split of X is never copied."""
        self.scaler, self.dtype, self.device = scaler, dtype, device
        self.rows = None if rows is None else torch.as_tensor(rows, dtype=torch.long)
        if sp.issparse(X):
            self.X = X.tocsr()
            return
        # A dense X stays where it is, seen by torch (a read-only array too:
        # nothing writes to it); the rows of a batch are standardised in
        # float64 by torch, the same values as standardize(clip=True) in fewer passes.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self.X = torch.from_numpy(X)
        self._torch_dtype = torch.from_numpy(np.empty(0, dtype)).dtype
        if scaler is not None:
            self._mean, self._scale = torch.from_numpy(scaler.mean_), torch.from_numpy(scaler.scale_)

    def __len__(self):
        return self.X.shape[0] if self.rows is None else len(self.rows)

    def __getitem__(self, index):
        if self.rows is not None:
            index = self.rows[index if isinstance(index, slice) else index.cpu()]
        if isinstance(self.X, torch.Tensor):
            rows = self.X[index] if isinstance(index, slice) else self.X.index_select(0, index.cpu())
            if self.scaler is not None:
                rows = soft_clip((rows.double() - self._mean).div_(self._scale))  # never in place: X may be a view
            return rows.to(device=self.device, dtype=self._torch_dtype)
        if isinstance(index, torch.Tensor):
            index = index.cpu().numpy()
        return torch.from_numpy(standardize(self.scaler, self.X[index], self.dtype, clip=True)).to(self.device)


class Objective:
    """The weighted mean of a per-sample loss over a mini-batch.

    ``objective(index)`` is the loss of the network on the rows ``index``;
    a solver that writes its own backward pass uses :meth:`rows`,
    :meth:`inputs`, :meth:`output_loss` and :meth:`loss_and_gradient`.

    Parameters
    ----------
    network : TNNetwork
    X : ndarray (n_samples, n_features) or StandardizedRows
        The training data, shared with torch without a copy when it can be.
    Y, weights : tensors on the network's device
        Encoded targets and sample weights.
    loss : {'cross_entropy', 'binary_cross_entropy', 'squared_error'}
    """

    def __init__(self, network, X, Y, weights, loss):
        param = next(network.parameters())
        self.network = network
        self.X = X if isinstance(X, StandardizedRows) else to_tensor(X, param.dtype, param.device)
        self.Y, self.weights = Y, weights
        self.sample_loss, self.sample_loss_gradient = LOSSES[loss]
        self.uniform = bool((weights == weights[0]).all())
        self._embedded = None
        if network.input_projection == "fixed" and \
                len(X) * network.projection.shape[1] * param.element_size() <= EMBED_CACHE_BYTES:
            # The frozen projection of the training set never changes; caching
            # it saves a matmul per step, which counts only while steps are small.
            with torch.no_grad():
                if isinstance(X, StandardizedRows):
                    self._embedded = torch.cat([network.embed(X[start:start + CHUNK_ROWS])
                                                for start in range(0, len(X), CHUNK_ROWS)])
                else:
                    self._embedded = network.embed(self.X)

    def rows(self, index):
        """The training rows ``index`` (before the projection)."""
        return self.X[index]

    def inputs(self, index):
        """The projection of the rows ``index``."""
        if self._embedded is not None:
            return self._embedded[index]
        return self.network.embed(self.X[index])

    def output_loss(self, output, index):
        """The weighted mean loss of the network's ``output`` on the rows ``index``."""
        losses = self.sample_loss(output, self.Y[index])
        w = self._batch_weights(index)
        return losses.mean() if w is None else losses @ w

    def loss_and_gradient(self, output, index):
        """:meth:`output_loss` and its gradient with respect to ``output``."""
        losses, grad = self.sample_loss_gradient(output, self.Y[index])
        w = self._batch_weights(index)
        if w is None:
            return losses.mean(), grad.div_(len(losses))
        return losses @ w, grad.mul_(w[:, None])

    def _batch_weights(self, index):
        """The rows' weights normalised to sum to one, or None when all are
        equal: the plain mean is the same value in fewer operations per step."""
        if self.uniform:
            return None
        w = self.weights[index]
        return w / w.sum()

    def __call__(self, index):
        return self.output_loss(self.network.forward_pass(self.inputs(index)), index)
