import pytest
import torch

from skltnn._solvers._line_search import (DENSE_LR_RATIO, MAX_DENSE_SCALE, MAX_DENSE_TRIALS, MAX_MINI_BATCH_SCALE,
                                          MAX_SCALE, MAX_TRIALS, SHRINK, LineSearch, _SquaredNorm)


class StaleDenseSlope:
    """A visit's objective ``||B - 1||^2 + 10^4 (p - p0)^2`` whose dense
    gradient is reported as 1 where the true one is 0: every move of ``p``
    raises the objective, as a stale Adam step can after a long bond step."""

    def __init__(self, p):
        self.p, self.p0 = p, p.clone()
        self.calls = []

    def gradients(self, index, B):
        return self.loss(index, B), 2 * (B - 1), {"p": torch.ones_like(self.p)}

    def loss(self, index, B):
        self.calls.append(float(self.p))
        return (B - 1).square().sum() + 1e4 * (self.p - self.p0).square().sum()

    def loss_along(self, index, B, direction):
        return lambda t: self.loss(index, B + t * direction)


def test_a_dense_search_along_a_stale_slope_gives_up_after_a_few_trials():
    p = torch.zeros(1, dtype=torch.float64)
    problem = StaleDenseSlope(p)
    search = LineSearch({"p": p}, (), learning_rate=0.25, n_layers=1)
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


class Flat:
    """A visit whose data term is 0: only the L2 penalty shapes the objective."""

    def gradients(self, index, B):
        return B.new_zeros(()), torch.zeros_like(B), {"p": torch.zeros(1, dtype=B.dtype)}

    def loss(self, index, B):
        return B.new_zeros(())

    def loss_along(self, index, B, direction):
        return lambda t: self.loss(index, B + t * direction)


@pytest.mark.parametrize("learning_rate, scale", [(0.75, 2.0), (1.5, 0.5)])
def test_the_penalty_alone_decides_the_step_and_is_reported_in_full(learning_rate, scale):
    # With l2 = 1 the bond step is B - 2 lr B: -0.5 B at lr 0.75 (the
    # penalty falls to a quarter, accepted); -2 B at lr 1.5 (it grows
    # fourfold, so the search halves the length to -0.5 B).
    p = torch.ones(1, dtype=torch.float64)
    search = LineSearch({"p": p}, {"p"}, learning_rate=learning_rate, n_layers=1)
    B = torch.ones(3, dtype=torch.float64)
    moved, loss = search.step(0, Flat(), None, B, 1.0, 0.5)
    assert loss == pytest.approx(3.0 + 1.0 + 0.5)  # ||B||^2 + p^2 + the other weights'
    torch.testing.assert_close(moved, -0.5 * B)
    assert search.step_scales == [scale]
    # Adam's first step is its learning rate against the gradient's sign.
    torch.testing.assert_close(p, torch.tensor([1.0 - DENSE_LR_RATIO * learning_rate], dtype=torch.float64))


def test_squared_norm_along_a_line_matches_the_tensors():
    generator = torch.Generator().manual_seed(0)
    origins = [torch.randn(3, 4, generator=generator), torch.randn(5, generator=generator)]
    directions = [torch.randn(3, 4, generator=generator), torch.randn(5, generator=generator)]
    norm = _SquaredNorm(origins, directions)
    for t in (0.0, -0.3, 1.7):
        expected = sum(float((x + t * d).square().sum()) for x, d in zip(origins, directions))
        assert norm(t) == pytest.approx(expected, rel=1e-5)
    assert _SquaredNorm([], [])(2.0) == 0.0


class Quadratic:
    """A visit's objective ``||B - 1||^2 + (p - 1)^2``: a small first step is always accepted."""

    def __init__(self, p):
        self.p = p

    def gradients(self, index, B):
        return self.loss(index, B), 2 * (B - 1), {"p": 2 * (self.p - 1)}

    def loss(self, index, B):
        return (B - 1).square().sum() + (self.p - 1).square().sum()

    def loss_along(self, index, B, direction):
        return lambda t: self.loss(index, B + t * direction)


@pytest.mark.parametrize("mini_batch, cap", [(False, (MAX_SCALE, MAX_DENSE_SCALE)), (True, (1.0, 1.0))])
def test_the_multipliers_grow_after_full_steps_up_to_their_cap(mini_batch, cap):
    # On mini-batches they do not grow past 1: grown on the batches that suit them, steps would fit each batch.
    p = torch.zeros(1, dtype=torch.float64)
    search = LineSearch({"p": p}, (), learning_rate=1e-3, n_layers=1)
    B = torch.zeros(3, dtype=torch.float64)
    for _ in range(12):
        B, _ = search.step(0, Quadratic(p), None, B, 0.0, 0.0, mini_batch=mini_batch)
    assert (search.step_scales[0], search.dense_scale) == cap
    assert MAX_MINI_BATCH_SCALE == 1.0 < MAX_DENSE_SCALE < MAX_SCALE
