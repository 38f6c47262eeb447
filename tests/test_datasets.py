import numpy as np
import pytest

from skltnn.datasets import make_linear, make_sine, make_spiral


def test_make_spiral_shapes_balance_and_geometry():
    X, y = make_spiral(601, n_classes=3, noise=0.0, random_state=0)
    assert X.shape == (601, 2) and y.shape == (601,)
    assert sorted(np.bincount(y)) == [200, 200, 201]
    radius = np.linalg.norm(X, axis=1)
    assert radius.min() >= 0 and radius.max() <= 1 + 1e-12
    # Without noise, each arm is a curve r -> angle 4 (k + r): its angle grows with its radius.
    for k in range(3):
        arm = X[y == k]
        order = np.argsort(np.linalg.norm(arm, axis=1))[1:]  # r = 0 has no angle
        angle = np.unwrap(np.arctan2(arm[order, 0], arm[order, 1]))
        np.testing.assert_allclose(np.diff(angle) >= -1e-9, True)


def test_make_spiral_is_reproducible_and_noisy():
    a, b, c = (make_spiral(90, random_state=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_classes=1), "n_classes"), (dict(n_samples=2, n_classes=3), "n_samples"), (dict(noise=-1), "noise"),
])
def test_make_spiral_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_spiral(**kwargs)


def test_make_linear_and_make_sine_follow_their_curves():
    X, y = make_linear(4000, slope=0.55, intercept=0.2, noise=0.1, random_state=0)
    assert X.shape == (4000, 1) and 0 <= X.min() and X.max() <= 1
    slope, intercept = np.polyfit(X.ravel(), y, 1)
    assert abs(slope - 0.55) < 0.02 and abs(intercept - 0.2) < 0.01
    assert np.abs(y - (0.55 * X.ravel() + 0.2)).max() <= 0.1
    X, y = make_sine(1000, noise=0.05, random_state=0)
    assert 0 <= X.min() and X.max() <= 2 * np.pi
    assert np.abs(y - np.sin(X.ravel())).max() <= 0.05
    with pytest.raises(ValueError, match="noise"):
        make_sine(noise=-1)
