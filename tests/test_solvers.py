"""The Solver interface and its registry: a new solver needs no change to the estimators."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from skltnn import TNNClassifier, TNNRegressor
from skltnn._solvers import SOLVER_NAMES, SOLVERS, AdamSolver, DMRGSweeper, SGDSolver, Solver, register_solver


class FullBatchGradientDescent(Solver):
    """A toy solver: one plain gradient step on every parameter per iteration."""

    default_learning_rate = 0.5
    default_batch_size = 10**9

    def __init__(self, network, **settings):
        super().__init__(network, **settings)  # learning_rate and bond_dim: it names no other settings
        self.params = [p for p in network.parameters() if p.requires_grad]
        self.steps = 0

    def run_iteration(self, objective, l2, stream):
        loss = objective(stream.next()) + l2 * self.network.squared_weight_norm()
        grads = torch.autograd.grad(loss, self.params)
        with torch.no_grad():
            for param, grad in zip(self.params, grads):
                param.sub_(self.learning_rate * grad)
        self.steps += 1
        return float(loss)

    def reduce_step(self, factor):
        self.learning_rate *= factor

    def bond_spectra(self):
        return [layer.bond_spectra() for layer in self.network.tn_layers]

    def state_dict(self):
        return {"learning_rate": self.learning_rate, "steps": self.steps}

    def load_state_dict(self, state):
        self.learning_rate, self.steps = state["learning_rate"], state["steps"]


@pytest.fixture
def toy_solver():
    register_solver("toy", FullBatchGradientDescent)
    yield "toy"
    del SOLVERS["toy"]
    SOLVER_NAMES.discard("toy")


def test_a_registered_solver_trains_the_estimators_with_its_own_defaults(toy_solver):
    X, y = make_classification(120, n_features=6, random_state=0)
    clf = TNNClassifier(hidden_layer_sizes=(16,), bond_dim=3, solver=toy_solver, max_iter=40, random_state=0)
    with pytest.warns(Warning):  # max_iter: plain gradient descent is slow
        clf.fit(X, y)
    solver = clf._solver
    assert isinstance(solver, FullBatchGradientDescent) and solver.learning_rate == 0.5
    assert solver.steps == clf.n_iter_ == 40
    # The initial bond dimension is the Solver default (bond_dim), not the sweep's 1.
    assert clf.network_.tn_layers[0].bond_dim == 3
    assert clf.loss_curve_[-1] < 0.7 * clf.loss_curve_[0] and clf.score(X, y) > 0.8
    assert len(clf.entanglement_history_[0]) == 40


def test_an_unregistered_solver_is_a_parameter_error():
    X, y = make_classification(40, n_features=4, random_state=0)
    with pytest.raises(InvalidParameterError, match="'solver' parameter"):
        TNNRegressor(solver="toy").fit(X, y)


def test_only_solver_subclasses_register():
    with pytest.raises(TypeError, match="Solver subclass"):
        register_solver("bad", lambda network, **settings: None)
    assert "bad" not in SOLVERS


def test_the_built_in_solvers_and_their_defaults():
    assert SOLVERS == {"dmrg": DMRGSweeper, "adam": AdamSolver, "sgd": SGDSolver}
    assert DMRGSweeper.default_learning_rate == 0.2 and AdamSolver.default_learning_rate == 0.01
    # The sweep: the whole training set up to 10,000 rows, then batches of 1000; backprop: 200.
    assert [DMRGSweeper.auto_batch_size(n) for n in (50, 10_000, 10_001)] == [50, 10_000, 1000]
    assert [AdamSolver.auto_batch_size(n) for n in (50, 10_001)] == [200, 200]
    balanced, unbalanced = ((4, 4, 4), (4, 4, 4)), ((16, 2), (2, 16))  # full rank from D = 1 and D = 8
    assert DMRGSweeper.initial_bond_dim(8, *balanced) == 1 and AdamSolver.initial_bond_dim(8, *balanced) == 8
    assert DMRGSweeper.initial_bond_dim(4, *unbalanced) == 4 and DMRGSweeper.initial_bond_dim(16, *unbalanced) == 8


@pytest.mark.parametrize("solver", ["dmrg", "adam", "sgd"])
def test_a_failed_partial_fit_restores_the_solver_state(monkeypatch, solver):
    X, y = make_classification(80, n_features=4, random_state=0)
    clf = TNNClassifier(hidden_layer_sizes=(16,), solver=solver, batch_size=20, random_state=0)
    for _ in range(2):
        clf.partial_fit(X, y, classes=[0, 1])
    before = clf._solver.state_dict()
    weights = clf.network_.weights()
    run_iteration = type(clf._solver).run_iteration

    def fails_after_training(self, *args):
        run_iteration(self, *args)  # moves the weights and the optimiser's state
        raise RuntimeError("out of memory")

    monkeypatch.setattr(type(clf._solver), "run_iteration", fails_after_training)
    with pytest.raises(RuntimeError, match="out of memory"):
        clf.partial_fit(X, y)
    assert_states_equal(clf._solver.state_dict(), before)
    for got, want in zip(clf.network_.weights(), weights):
        torch.testing.assert_close(got, want, rtol=0, atol=0)


def assert_states_equal(got, want):
    if isinstance(want, dict):
        assert got.keys() == want.keys()
        for key in want:
            assert_states_equal(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert_states_equal(a, b)
    elif torch.is_tensor(want):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    else:
        assert got == want or (np.isnan(got) and np.isnan(want))


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_sgd_follows_the_learning_rate_schedules_of_sklearns_mlp(schedule):
    # tol so large that no epoch improves: 'adaptive' divides the step by 5
    # on every plateau until it is below 1e-6, as MLPClassifier does.
    from sklearn.neural_network import MLPClassifier

    X, y = make_classification(90, n_features=4, random_state=0)
    settings = dict(solver="sgd", learning_rate=schedule, learning_rate_init=0.01, power_t=0.3,
                    batch_size=30, tol=1e9, n_iter_no_change=1, max_iter=40, random_state=0)
    mlp = MLPClassifier(hidden_layer_sizes=(8,), **settings).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = TNNClassifier(hidden_layer_sizes=(8,), **settings).fit(X, y)
    assert clf.n_iter_ == mlp.n_iter_
    assert clf._solver.step == pytest.approx(mlp._optimizer.learning_rate, rel=1e-12)


def test_adaptive_goes_on_where_constant_stops():
    X, y = make_classification(90, n_features=4, random_state=0)
    settings = dict(solver="sgd", batch_size=30, tol=1e9, n_iter_no_change=2, max_iter=200, random_state=0)
    constant = TNNClassifier(learning_rate="constant", **settings).fit(X, y)
    adaptive = TNNClassifier(learning_rate="adaptive", **settings).fit(X, y)
    assert constant.n_iter_ == 4  # stops at its first plateau
    # ... where 'adaptive' divides the step by 5 per plateau: 0.01 / 5**k <= 1e-6 at k = 6
    assert adaptive.n_iter_ == 4 + 6 * 3 and adaptive._solver.step == pytest.approx(0.01 / 5**6)


@pytest.mark.parametrize("solver", ["dmrg", "adam"])
def test_the_schedule_is_for_sgd_only(solver):
    # A plateau at every iteration: 'adaptive' would go on, 'invscaling' would change every step.
    X, y = make_classification(60, n_features=4, random_state=0)
    fits = [TNNClassifier(hidden_layer_sizes=(8,), solver=solver, learning_rate=schedule, max_iter=8,
                          tol=1e9, n_iter_no_change=1, random_state=0).fit(X, y)
            for schedule in ("constant", "invscaling", "adaptive")]
    for fit in fits[1:]:
        np.testing.assert_array_equal(fit.loss_curve_, fits[0].loss_curve_)


def test_a_divergence_shrinks_the_scheduled_step_too():
    solver = TNNClassifier(solver="sgd", learning_rate="invscaling").fit(*make_classification(40, random_state=0))
    solver = solver._solver
    step = solver.step
    solver.reduce_step(0.5)
    assert solver.step == step / 2
    solver._set_step()  # the next epoch's step keeps the factor
    assert solver.step == pytest.approx(step / 2)


def test_each_solver_takes_the_estimator_settings_it_names_and_no_others():
    assert DMRGSweeper.settings == {"svd_cutoff": "svd_cutoff", "sweep": "sweep"}
    assert SGDSolver.settings == {"schedule": "learning_rate", "power_t": "power_t"} and AdamSolver.settings == {}
    net = TNNClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0).fit(
        *make_classification(60, random_state=0)).network_
    with pytest.raises(TypeError, match="schedule"):
        DMRGSweeper(net, learning_rate=0.1, bond_dim=2, schedule="adaptive")
    with pytest.raises(TypeError, match="svd_cutoff"):
        SGDSolver(net, learning_rate=0.1, bond_dim=2, svd_cutoff=0.1)
    sgd = SGDSolver(net, learning_rate=0.1, bond_dim=2, schedule="invscaling", power_t=0.3)
    assert (sgd.schedule, sgd.power_t) == ("invscaling", 0.3)
