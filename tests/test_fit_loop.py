import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skltnn._fit_loop import MAX_RECOVERIES, FitLoop, History, ProgressBar, record_entropies
from skltnn._network import TNNetwork, layer_dims
from skltnn._solvers import Solver


class Scripted(Solver):
    """A solver whose iterations report the given losses; each adds 1 to the
    output bias, so that the weights tell which iteration they are from."""

    def __init__(self, network, losses):
        super().__init__(network, learning_rate=1.0, bond_dim=2)
        self.losses, self.reductions = list(losses), []

    def run_iteration(self, objective, l2, stream):
        with torch.no_grad():
            self.network.output.bias.add_(1.0)
        loss = self.losses.pop(0)
        if loss == "raise":
            raise FloatingPointError("the training loss is not finite")
        return loss

    def reduce_step(self, factor):
        self.reductions.append(factor)

    def bond_spectra(self):
        return [layer.bond_spectra() for layer in self.network.tn_layers]

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def network():
    g = torch.Generator().manual_seed(0)
    return TNNetwork(3, 2, (16,), layer_dims((16, 16)), 2, ("relu",), "fixed", g, torch.float64, "cpu")


def run(losses, early_stopping=False, scores=None, **settings):
    net = network()
    solver, history = Scripted(net, losses), History(early_stopping)
    settings = {"max_iter": len(losses), "tol": 1e-4, "n_iter_no_change": 2, **settings}
    score = None if scores is None else iter(scores).__next__
    loop = FitLoop(net, solver, history, score=score, callbacks=[record_entropies], **settings)
    return loop, loop.run(None, 0.0, None), float((net.output.bias - network().output.bias).detach()[0])


def test_it_stops_after_n_iter_no_change_iterations_without_improvement():
    loop, stop, iteration = run([1.0, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1])
    assert stop == "converged" and loop.n_iter == 5
    assert loop.history.loss_curve == [1.0, 0.5, 0.5, 0.5, 0.5] and loop.history.best_loss == 0.5
    assert iteration == 5  # the last iteration is no worse than the best: its weights stay
    assert len(loop.history.entropies) == 5 and len(loop.history.entropies[0]) == 1


def test_max_iter_warns_and_the_best_weights_are_kept_when_the_last_is_worse():
    with pytest.warns(ConvergenceWarning, match=r"maximum iterations \(3\)"):
        loop, stop, iteration = run([1.0, 0.5, 0.9])
    assert stop == "max_iter" and iteration == 2


def test_a_diverged_iteration_is_undone_with_a_smaller_step():
    loop, stop, iteration = run([1.0, "raise", 5.0, 0.8], max_iter=4)
    assert np.isnan(loop.history.loss_curve[1]) and loop.history.loss_curve[2] == 5.0  # 5 > 2 * 1 + 0.1
    assert loop.solver.reductions == [0.5, 0.5]
    # Each divergence set the weights back to iteration 1's: iterations 2 and 3 count for nothing.
    assert iteration == 2 and loop.history.best_loss == 0.8


def test_divergence_that_never_recovers_warns_and_keeps_the_best_weights():
    losses = [1.0] + [np.nan] * (MAX_RECOVERIES + 1) + [0.1]
    with pytest.warns(ConvergenceWarning, match="did not recover"):
        loop, stop, iteration = run(losses, n_iter_no_change=100)
    assert stop == "diverged" and iteration == 1 and loop.n_iter == MAX_RECOVERIES + 2


def test_no_iteration_that_progresses_raises():
    with pytest.raises(ValueError, match="no iteration kept the loss finite"):
        run([np.nan] * (MAX_RECOVERIES + 1), n_iter_no_change=100)


def test_early_stopping_keeps_the_weights_of_the_best_score():
    loop, stop, iteration = run([1.0, 0.9, 0.8, 0.7, 0.6, 0.5], early_stopping=True, scores=[0.5, 0.7, 0.6, 0.6, 0.6, 0.9])
    assert stop == "converged" and loop.history.validation_scores == [0.5, 0.7, 0.6, 0.6, 0.6]
    assert loop.history.best_validation_score == 0.7 and iteration == 2


def test_with_early_stopping_any_new_best_counts():
    # Validation scores that rise by 0.6 tol an iteration keep the fit going; a training loss
    # that falls as slowly stops it.
    rising = list(np.arange(10) * 0.6e-4)
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        loop, stop, iteration = run([1.0] * 10, early_stopping=True, scores=rising, n_iter_no_change=1)
    assert stop == "max_iter" and iteration == pytest.approx(10)
    loop, stop, iteration = run(list(1.0 - np.arange(10) * 0.6e-4), n_iter_no_change=1)
    assert stop == "converged" and loop.n_iter == 3


def test_partial_fit_runs_one_iteration_and_keeps_its_weights():
    loop, stop, iteration = run([0.5], incremental=True, max_iter=200)
    assert stop == "converged" and loop.n_iter == 1 and iteration == 1


def test_callbacks_see_every_iteration_and_the_stop():
    seen = []

    class Recorder:
        def __call__(self, loop, loss, score):
            seen.append((loop.n_iter, loss, score))

        def close(self, loop, stop):
            seen.append(stop)

    net = network()
    loop = FitLoop(net, Scripted(net, [1.0, 0.5, 0.4]), History(True), max_iter=3, tol=0.0, n_iter_no_change=5,
                   score=iter([0.1, 0.2, 0.3]).__next__, callbacks=[Recorder()])
    with pytest.warns(ConvergenceWarning):
        loop.run(None, 0.0, None)
    assert seen == [(1, 1.0, 0.1), (2, 0.5, 0.2), (3, 0.4, 0.3), "max_iter"]


def test_the_progress_bar_shows_loss_score_and_entropy(capsys):
    net = network()
    loop = FitLoop(net, Scripted(net, [1.0, 0.5]), History(True), max_iter=2, tol=0.0, n_iter_no_change=5,
                   score=iter([0.1, 0.2]).__next__, callbacks=[record_entropies, ProgressBar(2, "Test")])
    with pytest.warns(ConvergenceWarning):
        loop.run(None, 0.0, None)
    err = capsys.readouterr().err
    assert "Test" in err and "loss=0.5" in err and "val=0.2000" in err and "entropy=" in err
