"""Brute-force references the tests compare against."""

import numpy as np


def bond_matrix(W, in_dims, out_dims, bond):
    """W viewed across bond `bond`: rows (i_1 o_1 ... i_bond+1 o_bond+1), brute force."""
    n = len(in_dims)
    order = [p for k in range(n) for p in (k, n + k)]
    t = np.asarray(W).reshape(*in_dims, *out_dims).transpose(order)
    rows = int(np.prod([in_dims[k] * out_dims[k] for k in range(bond + 1)]))
    return t.reshape(rows, -1)


def brute_force_spectra(W, in_dims, out_dims):
    """Normalised singular values of each bond from an exact SVD of the reshaped W."""
    spectra = []
    for bond in range(len(in_dims) - 1):
        s = np.linalg.svd(bond_matrix(W, in_dims, out_dims, bond), compute_uv=False)
        spectra.append(s / np.linalg.norm(s))
    return spectra


def pad(a, size):
    return np.pad(a, (0, size - len(a)))
