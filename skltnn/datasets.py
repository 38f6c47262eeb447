"""The synthetic data sets of Jahromi & Orús (2022)."""

import numpy as np
from sklearn.utils import check_random_state


def _check_noise(noise):
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")


def make_spiral(n_samples=600, n_classes=3, noise=0.2, random_state=None):
    """Interleaved spiral arms, one per class (the paper's Table II data).

    Arm k holds points at radius ``r`` in [0, 1] and angle
    ``4 (k + r) + noise * N(0, 1)``, so the arms wind around each other.

    Parameters
    ----------
    n_samples : int, default=600
        Total number of points, split as evenly as possible over the classes.
    n_classes : int, default=3
        Number of arms (classes), at least 2.
    noise : float, default=0.2
        Standard deviation of the angular noise in radians.
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        Integer labels 0 .. n_classes - 1.
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    if n_samples < n_classes:
        raise ValueError(f"n_samples={n_samples} must be at least n_classes={n_classes}")
    _check_noise(noise)
    rng = check_random_state(random_state)
    sizes = np.full(n_classes, n_samples // n_classes)
    sizes[: n_samples % n_classes] += 1
    X, y = [], []
    for k, size in enumerate(sizes):
        r = np.linspace(0.0, 1.0, size)
        theta = 4.0 * (k + r) + noise * rng.standard_normal(size)
        X.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        y.append(np.full(size, k))
    X, y = np.concatenate(X), np.concatenate(y)
    order = rng.permutation(n_samples)
    return X[order], y[order]


def make_linear(n_samples=400, slope=0.55, intercept=0.20, noise=0.1, random_state=None):
    """Points on a line plus uniform noise (the paper's Table III data).

    ``x ~ U[0, 1]`` and ``y = slope * x + intercept + U[-noise, noise]``.

    Parameters
    ----------
    n_samples : int, default=400
    slope, intercept : float, default=0.55, 0.20
    noise : float, default=0.1
        Half-width of the uniform noise.
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
    y : ndarray of shape (n_samples,)
    """
    _check_noise(noise)
    rng = check_random_state(random_state)
    x = rng.uniform(0.0, 1.0, n_samples)
    y = slope * x + intercept + rng.uniform(-noise, noise, n_samples)
    return x[:, None], y


def make_sine(n_samples=400, noise=0.1, random_state=None):
    """``y = sin x`` on ``[0, 2 pi]`` plus uniform noise (the paper's Table IV data).

    Parameters
    ----------
    n_samples : int, default=400
    noise : float, default=0.1
        Half-width of the uniform noise.
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n_samples, 1)
    y : ndarray of shape (n_samples,)
    """
    _check_noise(noise)
    rng = check_random_state(random_state)
    x = rng.uniform(0.0, 2 * np.pi, n_samples)
    return x[:, None], np.sin(x) + rng.uniform(-noise, noise, n_samples)
