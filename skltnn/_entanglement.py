"""Entanglement entropy of a bond from its singular values."""

import numpy as np


def normalized_spectrum(singular_values):
    """Singular values scaled so that their squares sum to 1 (zeros stay zero)."""
    s = np.asarray(singular_values, dtype=np.float64)
    norm = np.linalg.norm(s)
    return s / norm if norm > 0 else s


def entanglement_entropy(singular_values):
    """Von Neumann entropy ``S = -sum p ln p`` with ``p = s^2 / sum(s^2)``.

    Natural logarithm, ``0 ln 0 = 0``; a zero spectrum has entropy 0.
    """
    p = normalized_spectrum(singular_values) ** 2
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def bond_entropies(spectra):
    """:func:`entanglement_entropy` of each bond's singular values, as an array."""
    return np.array([entanglement_entropy(s) for s in spectra])
