"""Figures from fitted estimators (needs matplotlib: ``pip install matplotlib``,
or ``pip install -e ".[plot]"`` in a checkout)."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

# Okabe & Ito's colour-blind-safe palette, one colour per class.
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("skltnn.plotting needs matplotlib: pip install matplotlib") from exc
    return plt


def _tnn(estimator):
    """The fitted TNN estimator itself, also when it ends a Pipeline."""
    tnn = estimator[-1] if hasattr(estimator, "steps") else estimator
    check_is_fitted(tnn)
    return tnn


def plot_training(estimators, axes=None):
    """Loss and mean entanglement entropy per iteration, side by side.

    As the paper's Figs. 12 and 14: one line per fitted estimator.

    Parameters
    ----------
    estimators : fitted TNNClassifier or TNNRegressor, or dict of label -> estimator
        Pipelines ending in one are accepted too.
    axes : pair of matplotlib Axes, optional

    Returns
    -------
    axes : pair of matplotlib Axes
    """
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4))
    if not isinstance(estimators, dict):
        estimators = {type(_tnn(estimators)).__name__: estimators}
    for label, estimator in estimators.items():
        tnn = _tnn(estimator)
        iterations = np.arange(1, len(tnn.loss_curve_) + 1)
        axes[0].plot(iterations, tnn.loss_curve_, label=label)
        axes[1].plot(iterations, np.concatenate(tnn.entanglement_history_, axis=1).mean(axis=1), label=label)
    axes[0].set(xlabel="sweep", ylabel="training loss", yscale="log", title="training loss per sweep")
    axes[1].set(xlabel="sweep", ylabel="mean entanglement entropy S", title="entanglement entropy per sweep")
    for ax in axes:
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.legend()
    return axes


def plot_decision_boundary(estimator, X, y, ax=None, resolution=200):
    """Predicted classes over the plane of a 2-feature classifier, with the data.

    Parameters
    ----------
    estimator : fitted classifier on 2 features
    X : array of shape (n_samples, 2)
    y : array of shape (n_samples,)
    ax : matplotlib Axes, optional
    resolution : int, default=200

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    X = np.asarray(X)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.05 * (hi - lo)
    xx, yy = np.meshgrid(np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution),
                         np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution))
    tnn = _tnn(estimator)
    classes = list(tnn.classes_)
    if len(classes) > len(CLASS_COLORS):
        raise ValueError(f"plot_decision_boundary draws at most {len(CLASS_COLORS)} classes, got {len(classes)}")
    colors = CLASS_COLORS[:len(classes)]
    grid = estimator.predict(np.c_[xx.ravel(), yy.ravel()])
    codes = np.searchsorted(classes, grid).reshape(xx.shape)
    ax.contourf(xx, yy, codes, alpha=0.25, colors=colors, levels=np.arange(len(classes) + 1) - 0.5)
    y = np.asarray(y)
    for label, color in zip(classes, colors):
        mask = y == label
        ax.scatter(X[mask, 0], X[mask, 1], color=color, s=10, edgecolors="k", linewidths=0.2,
                   label=f"class {label}")
    names = getattr(tnn, "feature_names_in_", ["feature 0", "feature 1"])
    ax.set(xlabel=names[0], ylabel=names[1], title="predicted classes and data")
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_spectra(estimator, layer=0, ax=None):
    """The normalised singular values of each bond of one TN layer (log scale).

    Parameters
    ----------
    estimator : fitted TNNClassifier or TNNRegressor (or a Pipeline ending in one)
    layer : int, default=0
        Which TN layer.
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    for bond, s in enumerate(_tnn(estimator).singular_values_[layer]):
        ax.semilogy(np.arange(1, len(s) + 1), np.maximum(s, 1e-12), marker="o", label=f"bond {bond + 1}")
    ax.set(xlabel="index of the singular value", ylabel="singular value (normalised)",
           title=f"bond spectra of TN layer {layer}")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend()
    return ax
