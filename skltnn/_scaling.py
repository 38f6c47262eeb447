"""The estimators' built-in standardisation of features and regression targets."""

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import StandardScaler

# Rows standardised at a time: the float64 working copy stays small.
CHUNK_ROWS = 65536


def fit_scaler(A, sample_weight):
    """A ``StandardScaler`` fitted with the sample weights.

    Weighted statistics make a weight of k the same as k copies of the row,
    and zero-weight rows do not count. Constant columns get a scale of 1.
    A sparse ``A`` is not centred here (that would make it dense); its means
    are computed all the same and :func:`standardize` subtracts them a chunk
    of rows at a time.
    """
    if sp.issparse(A):
        return StandardScaler(with_mean=False).fit(A, sample_weight=sample_weight).set_params(with_mean=True)
    # A chunk of rows at a time: the statistics take float64 working copies
    # of what they are given (one call on the whole data when it is small).
    scaler = StandardScaler()
    for start in range(0, A.shape[0], CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        scaler.partial_fit(A[rows], sample_weight=None if sample_weight is None else sample_weight[rows])
    return scaler


def standardize(scaler, A, dtype):
    """``(A - mean) / scale`` computed in float64, returned as a C-contiguous array of ``dtype``.

    Centring before the cast keeps what float32 would lose: features of
    1e4 ± 1e-3 keep their variation. Values beyond ``dtype``'s range become
    infinite; callers check. ``scaler=None`` only casts. A sparse ``A`` is
    made dense (pass it a batch of rows at a time).
    """
    out = np.empty(A.shape, dtype=dtype)
    with np.errstate(over="ignore"):
        for start in range(0, A.shape[0], CHUNK_ROWS):
            chunk = A[start:start + CHUNK_ROWS]
            chunk = chunk.toarray() if sp.issparse(chunk) else np.asarray(chunk, dtype=np.float64)
            out[start:start + CHUNK_ROWS] = chunk if scaler is None else (chunk - scaler.mean_) / scaler.scale_
    return out


def unstandardize(scaler, A):
    """The inverse of :func:`standardize` in float64 (``scaler=None``: unchanged)."""
    return A if scaler is None else A * scaler.scale_ + scaler.mean_
