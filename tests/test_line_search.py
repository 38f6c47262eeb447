import pytest
import torch

from skltnn._solvers._line_search import MAX_DENSE_TRIALS, MAX_TRIALS, SHRINK, LineSearch


class StaleDenseSlope:
    """A visit's objective ``||B - 1||^2 + 10^4 (p - p0)^2`` whose dense
    gradient is reported as 1 where the true one is 0: every move of ``p``
    raises the objective, as a stale Adam step can after a long bond step."""

    dense_start = 0

    def __init__(self, p):
        self.p, self.p0 = p, p.clone()
        self.calls = []

    def gradients(self, index, B):
        return self.loss(index, B), 2 * (B - 1), [torch.ones_like(self.p)]

    def loss(self, index, B):
        self.calls.append(float(self.p))
        return (B - 1).square().sum() + 1e4 * (self.p - self.p0).square().sum()


def test_a_dense_search_along_a_stale_slope_gives_up_after_a_few_trials():
    p = torch.zeros(1, dtype=torch.float64)
    problem = StaleDenseSlope(p)
    search = LineSearch([p], [], learning_rate=0.25, n_layers=1)
    B = torch.zeros(3, dtype=torch.float64)
    moved, loss = search.step(0, problem, None, B, 0.0, 0.0)
    assert loss == pytest.approx(3.0)
    torch.testing.assert_close(moved, torch.full((3,), 0.5, dtype=torch.float64))  # the bond's full step
    torch.testing.assert_close(p, problem.p0)  # the dense parameters stay put
    # The gradient's loss, the joint trial, the bond's trial at full length, then the dense trials.
    dense_trials = [value for value in problem.calls[3:] if value != 0.0]
    assert len(problem.calls) == 3 + MAX_DENSE_TRIALS and len(dense_trials) == MAX_DENSE_TRIALS
    assert MAX_DENSE_TRIALS < MAX_TRIALS
    assert search.step_scales == [2.0]
    assert search.dense_scale == SHRINK**MAX_DENSE_TRIALS
