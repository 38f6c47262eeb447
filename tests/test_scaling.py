"""The built-in standardisation: statistics a chunk at a time, values in float64."""

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

import skltnn._scaling
from skltnn._scaling import fit_scaler, standardize


@pytest.mark.parametrize("weighted", [False, True])
def test_scaler_fitted_a_chunk_at_a_time_equals_one_fit(monkeypatch, weighted):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(1000, 5)) * [1, 1e-3, 1e4, 1, 0] + [0, 1e4, -3, 7, 2]  # last column constant
    weights = rng.integers(0, 4, size=1000).astype(float) if weighted else None
    whole = StandardScaler().fit(A, sample_weight=weights)
    monkeypatch.setattr(skltnn._scaling, "CHUNK_ROWS", 64)
    calls = []
    partial_fit = StandardScaler.partial_fit
    monkeypatch.setattr(StandardScaler, "partial_fit",
                        lambda self, X, *a, **k: calls.append(len(X)) or partial_fit(self, X, *a, **k))
    chunked = fit_scaler(A, weights)
    assert len(calls) == 16 and max(calls) == 64  # never more than a chunk at a time
    np.testing.assert_allclose(chunked.mean_, whole.mean_, rtol=1e-12)
    np.testing.assert_allclose(chunked.scale_, whole.scale_, rtol=1e-9)
    assert chunked.scale_[-1] == 1.0
    np.testing.assert_allclose(standardize(chunked, A, np.float64), whole.transform(A), rtol=1e-8, atol=1e-8)
