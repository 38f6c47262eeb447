import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier
from skltnn.datasets import make_spiral

from .conftest import FAST


def test_spiral_reaches_97_percent_with_defaults(spiral, fitted_spiral):
    # A median over five draws of the spiral and its split, the first the fixture's.
    scores = [fitted_spiral.score(spiral[1], spiral[3])]
    for seed in range(1, 5):
        X, y = make_spiral(600, n_classes=3, random_state=seed)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
        scores.append(TNNClassifier(bond_dim=8, random_state=seed).fit(Xtr, ytr).score(Xte, yte))
    assert np.median(scores) >= 0.97 and min(scores) >= 0.95


@pytest.mark.parametrize("labels", [np.array(["cat", "dog", "emu"]), np.array([10, -3, 7]), None])
def test_labels_of_any_type_come_back_as_given(labels):
    X, y = make_classification(150, n_features=5, n_classes=3, n_informative=3, random_state=0)
    y = np.array([True, False])[y % 2] if labels is None else labels[y]
    est = TNNClassifier(**FAST).fit(X, y)
    pred = est.predict(X)
    assert pred.dtype == y.dtype and set(pred) <= set(y)
    np.testing.assert_array_equal(est.classes_, np.unique(y))
    proba = est.predict_proba(X)
    assert proba.shape == (150, len(est.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), est.predict_log_proba(X), atol=1e-6)
    assert est.decision_function(X).shape == ((150,) if len(est.classes_) == 2 else (150, 3))


def test_sample_weight_shifts_the_decision():
    X, y = make_classification(300, n_features=4, class_sep=0.3, flip_y=0.3, random_state=0)
    plain = TNNClassifier(**FAST).fit(X, y)
    weighted = TNNClassifier(**FAST).fit(X, y, sample_weight=np.where(y == 1, 10.0, 1.0))
    assert (weighted.predict(X) == 1).mean() > (plain.predict(X) == 1).mean()


def test_partial_fit_learns_from_chunks_that_lack_classes():
    X, y = make_classification(600, n_features=6, n_classes=3, n_informative=4, random_state=0)
    order = np.argsort(y, kind="stable")  # the first chunks hold class 0 only
    est = TNNClassifier(hidden_layer_sizes=(16,), random_state=0)
    mlp = MLPClassifier((16,), random_state=0)
    for _ in range(10):
        for chunk in np.array_split(order, 4):
            est.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
            mlp.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert len(est.loss_curve_) == 40 and est.n_iter_ == mlp.n_iter_ == 1 and est.predict_proba(X).shape == (600, 3)
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    # A class-sorted stream makes every model forget the earlier chunks (a
    # full fit scores 0.94); it must still learn, at least as well as the MLP.
    assert est.score(X, y) > max(0.4, mlp.score(X, y))


def test_partial_fit_errors():
    X, y = make_classification(60, n_features=4, random_state=0)
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        TNNClassifier(**FAST).partial_fit(X, y)
    est = TNNClassifier(**FAST).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="classes.*differs"):
        est.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"not in classes_.*\[5\]"):
        est.partial_fit(X, np.where(y == 1, 5, 0))
    with pytest.raises(ValueError, match="4 features"):
        est.partial_fit(X[:, :3], y)


def test_logistic_is_sigmoid_by_its_scikit_learn_name():
    X, y = make_classification(100, n_features=4, random_state=0)
    fits = [TNNClassifier(**FAST, activation=name).fit(X, y) for name in ("logistic", "sigmoid")]
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


def test_multilabel_targets_as_mlpclassifier():
    X, Y = make_multilabel_classification(400, n_features=10, n_classes=4, random_state=0)
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)
    est = TNNClassifier(hidden_layer_sizes=(16,), random_state=0).fit(X_train, Y_train)
    np.testing.assert_array_equal(est.classes_, np.arange(4))
    assert est.out_activation_ == "logistic" and est.n_outputs_ == 4
    logits = est.decision_function(X_test)
    proba = est.predict_proba(X_test)
    # Each label's own probability (rows need not sum to one) and the labels it implies.
    np.testing.assert_allclose(proba, 1 / (1 + np.exp(-logits)), rtol=1e-12)
    np.testing.assert_allclose(np.exp(est.predict_log_proba(X_test)), proba, rtol=1e-12)
    np.testing.assert_array_equal(est.predict(X_test), (proba > 0.5).astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = make_pipeline(StandardScaler(), MLPClassifier((16,), random_state=0)).fit(X_train, Y_train)
    assert est.score(X_test, Y_test) >= mlp.score(X_test, Y_test) - 0.05  # subset accuracy
    with pytest.raises(ValueError, match="multilabel-indicator"):
        est.set_params(warm_start=True).fit(X_train, Y_train[:, 0])
