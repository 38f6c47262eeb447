import warnings

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning

from skltnn import TNNRegressor

from .conftest import FAST


def test_regressor_single_and_multi_output():
    X, y = make_regression(200, n_features=5, n_targets=2, noise=0.1, random_state=0)
    y = y / y.std(axis=0)
    est = TNNRegressor(hidden_layer_sizes=(16,), max_iter=100, random_state=0).fit(X, y)
    assert est.predict(X).shape == (200, 2) and est.n_outputs_ == 2
    assert est.score(X, y) > 0.9
    single = TNNRegressor(**FAST).fit(X, y[:, 0])
    assert single.predict(X).shape == (200,)


def test_standardize_false_feeds_the_data_as_given():
    X, y = make_regression(100, n_features=4, random_state=0)
    est = TNNRegressor(**FAST, standardize=False).fit(X, y / y.std())
    assert est.input_scaler_ is None and est.target_scaler_ is None
    with torch.no_grad():
        direct = est.network_(torch.as_tensor(X, dtype=torch.float32)).double().numpy().ravel()
    np.testing.assert_allclose(est.predict(X), direct)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=st.floats(1e-3, 1e4), b=st.floats(-1e4, 1e4), c=st.floats(1e-3, 1e4), d=st.floats(-1e4, 1e4))
def test_results_do_not_depend_on_the_units_of_x_and_y(a, b, c, d):
    X, y = make_regression(120, n_features=3, noise=5.0, random_state=0)
    X = X + np.linspace(0, 1, 3)  # features with different means
    params = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = TNNRegressor(**params).fit(X, y)
        moved = TNNRegressor(**params).fit(a * X + b, c * y + d)
    np.testing.assert_allclose((moved.predict(a * X + b) - d) / c, reference.predict(X),
                               rtol=1e-6, atol=1e-6 * np.abs(y).max())
