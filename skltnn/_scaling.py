"""The estimators' built-in standardisation of features and regression targets."""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.preprocessing import StandardScaler

# Rows standardised, checked or predicted at a time: the float64 working copy stays small.
CHUNK_ROWS = 65536
# Standardised features are pulled smoothly inside this many standard
# deviations (:func:`soft_clip`).
FEATURE_CLIP = 3.0


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


def soft_clip(Z, bound=FEATURE_CLIP):
    """``Z / sqrt(1 + (Z / bound)^2)`` in place (a float numpy array or tensor), and Z.

    Nearly the identity within a standard deviation or two, and never beyond
    ``bound``: the heavy tails of real features (incomes, counts, prices)
    no longer put a few rows far outside the range that the rest of the
    data trains, while the order of the values is kept. The hypotenuse
    keeps huge values finite (they go to ``±bound``).
    """
    if isinstance(Z, torch.Tensor):
        return Z.div_(torch.hypot(Z / bound, Z.new_ones(())))
    return np.divide(Z, np.hypot(1.0, Z / bound), out=Z)


def standardize(scaler, A, dtype, clip=False):
    """``(A - mean) / scale`` computed in float64, returned as a C-contiguous array of ``dtype``.

    Centring before the cast keeps what float32 would lose: features of
    1e4 ± 1e-3 keep their variation. ``clip=True`` (features) then applies
    :func:`soft_clip`; otherwise (targets) values beyond ``dtype``'s range
    become infinite, and callers check. ``scaler=None`` only casts. A
    sparse ``A`` is made dense (pass it a batch of rows at a time).
    """
    out = np.empty(A.shape, dtype=dtype)
    with np.errstate(over="ignore"):
        for start in range(0, A.shape[0], CHUNK_ROWS):
            chunk = A[start:start + CHUNK_ROWS]
            chunk = chunk.toarray() if sp.issparse(chunk) else np.asarray(chunk, dtype=np.float64)
            if scaler is not None:
                chunk = (chunk - scaler.mean_) / scaler.scale_
                if clip:
                    soft_clip(chunk)
            out[start:start + CHUNK_ROWS] = chunk
    return out


def unstandardize(scaler, A):
    """The inverse of :func:`standardize` in float64 (``scaler=None``: unchanged)."""
    return A if scaler is None else A * scaler.scale_ + scaler.mean_
