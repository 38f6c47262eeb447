"""Data between numpy and the network: finite checks, the training rows as
the objective takes them, and the network's output on new rows."""

import copy

import numpy as np
import scipy.sparse as sp
import torch

from ._device import to_tensor
from ._objective import StandardizedRows
from ._scaling import CHUNK_ROWS, standardize

# A dense X is standardised whole up to this size (the fastest steps), and
# a batch at a time above it (no second copy of a large X).
STANDARDIZED_COPY_BYTES = 64 * 2**20


def check_finite(A, what):
    """A, or a clear error when it holds values that are not finite."""
    if not np.isfinite(A).all():
        raise ValueError(f"{what} has values too large to standardise or to represent in the fit's dtype "
                         f"(largest magnitude {np.nanmax(np.abs(A)):.3g}); rescale it")
    return A


def _sparse_extremes(X, scaler):
    """The largest magnitude of each standardised column of a sparse X, without densifying it."""
    largest = abs(X).max(axis=0).toarray().ravel()
    return largest if scaler is None else (largest + np.abs(scaler.mean_)) / scaler.scale_


def training_rows(X, scaler, dtype, device, rows=None):
    """X, or its ``rows`` (an index array; all by default), as an
    :class:`Objective` takes them: standardised (``scaler``, or None) in
    ``dtype`` and checked finite; whole, or a batch at a time as
    :class:`StandardizedRows` (a sparse X, whose ``rows`` are taken as a
    sparse matrix, and a large dense X, which is read in place, never
    copied)."""
    if sp.issparse(X):  # made dense a batch at a time, never whole
        X = X if rows is None else X[rows]
        check_finite(_sparse_extremes(X, scaler).astype(dtype), "X")
        return StandardizedRows(X, scaler, dtype, device)
    n_rows = X.shape[0] if rows is None else len(rows)
    if torch.device(device).type == "cpu" and n_rows * X.shape[1] * dtype.itemsize > STANDARDIZED_COPY_BYTES:
        for start in range(0, n_rows, CHUNK_ROWS):
            chunk = slice(start, start + CHUNK_ROWS)
            check_finite(standardize(scaler, X[chunk if rows is None else rows[chunk]], dtype, clip=True), "X")
        return StandardizedRows(X, scaler, dtype, device, rows)
    X = X if rows is None else X[rows]
    if scaler is None and X.dtype == dtype:
        return X  # shared with torch as it is
    return check_finite(standardize(scaler, X, dtype, clip=True), "X")


def network_output(network, X, scaler):
    """The network's output for a validated array X, standardised (``scaler``)
    and computed in chunks, as float64 numpy.

    A chunk whose output is not finite in the fit's dtype (an input beyond
    the range the network was fitted on) is computed again in float64.
    """
    wide, outputs = None, []
    if sp.issparse(X):
        X = X.tocsr()  # row slices
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = standardize(scaler, X[start:start + CHUNK_ROWS], np.float64, clip=True)
        out = _evaluate(network, chunk)
        if not np.isfinite(out).all():
            if wide is None:
                wide = copy.deepcopy(network).to(torch.float64)
            out = _evaluate(wide, chunk)
            if not np.isfinite(out).all():
                raise ValueError(f"X has values too large for the network (largest magnitude "
                                 f"{abs(X).max():.3g}): its output is not finite even in float64")
        outputs.append(out)
    return np.concatenate(outputs)


def _evaluate(network, X):
    """``network(X)`` for a float64 numpy array, as float64 numpy."""
    param = next(network.parameters())
    with torch.no_grad():
        return network(to_tensor(X, param.dtype, param.device)).cpu().double().numpy()
