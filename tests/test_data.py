import copy

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import make_classification

import skltnn._data
import skltnn._objective
from skltnn import TNNClassifier, TNNRegressor
from skltnn._scaling import standardize

from .conftest import FAST


@pytest.mark.parametrize("Estimator", [TNNClassifier, TNNRegressor])
def test_prediction_input_beyond_float32_is_computed_in_float64(Estimator):
    # Standardised features are clipped (below); raw ones can overflow float32.
    X, y = make_classification(100, n_features=4, random_state=0)
    est = Estimator(**FAST, standardize=False).fit(X, y)
    big = X * 1e40  # finite in float64, infinite in float32
    method = est.predict_proba if Estimator is TNNClassifier else est.predict
    got = method(big)
    assert np.isfinite(got).all()
    wide = copy.deepcopy(est).set_params(dtype="float64")
    wide.network_ = wide.network_.double()
    np.testing.assert_allclose(got, method.__func__(wide, big), rtol=1e-12)


@pytest.mark.parametrize("Estimator", [TNNClassifier, TNNRegressor])
def test_standardised_features_are_clipped_smoothly(Estimator):
    # A feature a million or a billion standard deviations out is pulled to 3 of them
    # (within 1e-11): both predict alike, and finite, in the fit's float32.
    X, y = make_classification(100, n_features=4, random_state=0)
    est = Estimator(**FAST).fit(X, y)
    method = est.predict_proba if Estimator is TNNClassifier else est.predict
    far, farther = X[:5].copy(), X[:5].copy()
    far[:, 2] = est.input_scaler_.mean_[2] + 1e6 * est.input_scaler_.scale_[2]
    farther[:, 2] = est.input_scaler_.mean_[2] + 1e9 * est.input_scaler_.scale_[2]
    assert np.isfinite(method(far)).all()
    np.testing.assert_allclose(method(far), method(farther), rtol=1e-5, atol=1e-6)
    assert not np.allclose(method(far), method(X[:5]), rtol=1e-3)


def test_constant_features_are_centred_not_scaled():
    X, y = make_classification(100, n_features=4, random_state=0)
    X[:, 2] = 7.0
    est = TNNClassifier(**FAST).fit(X, y)
    assert est.input_scaler_.scale_[2] == 1.0 and est.input_scaler_.mean_[2] == 7.0
    assert est.score(X, y) > 0.8


def test_a_projection_too_large_to_cache_gives_the_same_fit(monkeypatch):
    X, y = make_classification(150, n_features=5, random_state=0)
    params = dict(FAST, max_iter=3, dtype="float64")
    cached = TNNClassifier(**params).fit(X, y)
    monkeypatch.setattr("skltnn._objective.EMBED_CACHE_BYTES", 0)
    uncached = TNNClassifier(**params).fit(X, y)
    np.testing.assert_allclose(uncached.predict_proba(X), cached.predict_proba(X), rtol=1e-10)


@pytest.mark.parametrize("Estimator", [TNNClassifier, TNNRegressor])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_fits_as_dense_a_batch_at_a_time(Estimator, fmt, monkeypatch):
    X, y = make_classification(300, n_features=12, random_state=0)
    X[np.abs(X) < 0.8] = 0.0  # about half the entries
    X_sparse = sp.csr_matrix(X).asformat(fmt)
    params = dict(FAST, dtype="float64", batch_size=100, early_stopping=True, n_iter_no_change=3)
    dense = Estimator(**params).fit(X, y)
    # Rows are made dense a batch (or a chunk) at a time, never all at once.
    monkeypatch.setattr(skltnn._objective, "CHUNK_ROWS", 64)
    monkeypatch.setattr(skltnn._data, "CHUNK_ROWS", 64)
    densified = []
    to_dense = sp.csr_matrix.toarray
    monkeypatch.setattr(sp.csr_matrix, "toarray", lambda self, *a: densified.append(self.shape[0]) or
                        to_dense(self, *a))
    est = Estimator(**params).fit(X_sparse, y)
    np.testing.assert_allclose(est.input_scaler_.mean_, dense.input_scaler_.mean_, rtol=1e-12)
    np.testing.assert_allclose(est.predict(X_sparse), est.predict(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(est.predict(X), dense.predict(X), rtol=1e-6, atol=1e-8)
    assert densified and max(densified) <= 100


@pytest.mark.parametrize("batch_size", [100, 300])  # index batches, and one slice
@pytest.mark.parametrize("Estimator", [TNNClassifier, TNNRegressor])
@pytest.mark.parametrize("early_stopping", [False, True])  # all rows, and the training rows of a split
def test_a_large_dense_x_is_standardised_a_batch_at_a_time(Estimator, batch_size, early_stopping, monkeypatch):
    X, y = make_classification(300, n_features=12, random_state=0)
    X = 50 * X + 7  # standardisation has work to do
    X_before = X.copy()
    params = dict(FAST, batch_size=batch_size, early_stopping=early_stopping)
    whole = Estimator(**params).fit(X, y)
    monkeypatch.setattr(skltnn._data, "STANDARDIZED_COPY_BYTES", 1000)
    expected = standardize(whole.input_scaler_, X, np.float64, clip=True)
    for subset in (None, np.arange(299, 0, -3)):
        rows = skltnn._data.training_rows(X, whole.input_scaler_, np.dtype(np.float32), "cpu", subset)
        assert isinstance(rows, skltnn._objective.StandardizedRows)  # above the size: a batch at a time
        wanted = expected if subset is None else expected[subset]
        assert len(rows) == len(wanted)
        np.testing.assert_allclose(rows[torch.arange(len(wanted))].numpy(), wanted, atol=1e-5)
        np.testing.assert_allclose(rows[10:20].numpy(), wanted[10:20], atol=1e-5)
    objectives = []
    make_objective = Estimator._objective
    monkeypatch.setattr(Estimator, "_objective", lambda self, *args: objectives.append(
        make_objective(self, *args)) or objectives[-1])
    batched = Estimator(**params).fit(X, y)
    assert objectives[0][0].X.X.data_ptr() == X.ctypes.data  # X itself: a split copies no rows
    np.testing.assert_array_equal(batched.loss_curve_, whole.loss_curve_)
    np.testing.assert_array_equal(batched.predict(X), whole.predict(X))
    np.testing.assert_array_equal(X, X_before)
    X[0, 0] = 1e300  # finite in float64; its standardised column is not in float32
    with pytest.raises(ValueError, match="X has values too large"):
        Estimator(**params).fit(X, y)


def test_float32_x_without_standardisation_is_not_copied():
    X, y = make_classification(100, n_features=4, random_state=0)
    X = X.astype(np.float32)
    objectives = []
    make_objective = TNNClassifier._objective
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TNNClassifier, "_objective", lambda self, *args: objectives.append(
            make_objective(self, *args)) or objectives[-1])
        TNNClassifier(**FAST, standardize=False).fit(X, y)
    assert objectives[0][0].X.data_ptr() == X.ctypes.data


def test_sparse_input_beyond_the_fit_dtype_is_a_clear_error():
    X, y = make_classification(60, n_features=4, random_state=0)
    X[0, 0] = 1e300  # finite in float64; its standardised column is not in float32
    est = TNNClassifier(**FAST)
    with pytest.raises(ValueError, match="X has values too large"):
        est.fit(sp.csr_matrix(X), y)
    assert not hasattr(est, "network_")
