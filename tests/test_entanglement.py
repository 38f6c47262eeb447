import numpy as np
import pytest

from skltnn._entanglement import entanglement_entropy, normalized_spectrum


def test_uniform_spectrum_has_log_d_entropy():
    for d in (1, 2, 7):
        assert entanglement_entropy(np.ones(d)) == pytest.approx(np.log(d))


def test_product_state_and_zeros():
    assert entanglement_entropy([3.0, 0.0, 0.0]) == 0.0
    assert entanglement_entropy([0.0, 0.0]) == 0.0


def test_scale_invariant_and_matches_definition():
    s = np.array([2.0, 1.0, 0.5])
    p = s**2 / (s**2).sum()
    assert entanglement_entropy(10 * s) == pytest.approx(-(p * np.log(p)).sum())
    assert np.sum(normalized_spectrum(10 * s) ** 2) == pytest.approx(1.0)
