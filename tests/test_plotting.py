import matplotlib
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier
from skltnn.datasets import make_spiral
from skltnn.plotting import CLASS_COLORS, plot_decision_boundary, plot_spectra, plot_training

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def fitted():
    X, y = make_spiral(150, n_classes=3, random_state=0)
    labels = np.array(["a", "b", "c"])[y]
    pipe = make_pipeline(StandardScaler(), TNNClassifier(hidden_layer_sizes=(16,), max_iter=20, random_state=0))
    with pytest.warns(Warning):
        pipe.fit(X, labels)
    return pipe, X, labels


def test_training_curves_are_the_loss_and_mean_entropy(fitted):
    pipe, _, _ = fitted
    tnn = pipe[-1]
    loss_ax, entropy_ax = plot_training(pipe)
    (loss,), (entropy,) = loss_ax.get_lines(), entropy_ax.get_lines()
    np.testing.assert_array_equal(loss.get_xdata(), np.arange(1, len(tnn.loss_curve_) + 1))
    np.testing.assert_array_equal(loss.get_ydata(), tnn.loss_curve_)
    np.testing.assert_allclose(entropy.get_ydata(), tnn.entanglement_history_[0].mean(axis=1))
    assert entropy_ax.get_legend().get_texts()[0].get_text() == "TNNClassifier"


def test_one_line_per_estimator_of_a_dict(fitted):
    pipe, _, _ = fitted
    axes = plot_training({"first": pipe, "second": pipe[-1]})
    assert [t.get_text() for t in axes[1].get_legend().get_texts()] == ["first", "second"]


def test_spectra_are_the_singular_values_per_bond(fitted):
    pipe, _, _ = fitted
    lines = plot_spectra(pipe).get_lines()
    spectra = pipe[-1].singular_values_[0]
    assert len(lines) == len(spectra)
    for line, s in zip(lines, spectra):
        np.testing.assert_allclose(line.get_ydata(), np.maximum(s, 1e-12))


def test_decision_boundary_colours_the_predicted_classes(fitted):
    pipe, X, labels = fitted
    ax = plot_decision_boundary(pipe, X, labels, resolution=30)
    contour, *scatters = ax.collections
    np.testing.assert_array_equal(contour.levels, [-0.5, 0.5, 1.5, 2.5])  # one band per class
    # One colour-blind-safe colour per class, the same for its band and its points.
    assert len(scatters) == 3
    for label, scatter, color in zip("abc", scatters, CLASS_COLORS):
        np.testing.assert_array_equal(scatter.get_offsets(), X[labels == label])
        np.testing.assert_allclose(scatter.get_facecolor()[0], to_rgba(color))
    np.testing.assert_allclose(contour.get_facecolor()[:, :3], [to_rgba(c)[:3] for c in CLASS_COLORS[:3]])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class a", "class b", "class c"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("feature 0", "feature 1")


def test_an_unfitted_estimator_is_a_clear_error():
    with pytest.raises(NotFittedError):
        plot_training(TNNClassifier())
