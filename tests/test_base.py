import pickle
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

import skltnn._base
from skltnn import TNNClassifier, TNNRegressor
from skltnn._objective import Objective
from skltnn._solvers import SOLVER_NAMES, SOLVERS, AdamSolver, DMRGSweeper, register_solver
from skltnn.exceptions import CapacityWarning

from ._reference import brute_force_spectra, pad
from .conftest import FAST


def assert_diagnostics_match_brute_force(est):
    assert len(est.mpos_) == len(est.network_.tn_layers)
    for mpo, spectra, entropies in zip(est.mpos_, est.singular_values_, est.entanglement_entropy_):
        W = mpo.to_dense().double().numpy()
        expected = brute_force_spectra(W, mpo.in_dims, mpo.out_dims)
        assert len(spectra) == len(entropies) == len(mpo.cores) - 1
        for got, want in zip(spectra, expected):
            assert np.sum(got**2) == pytest.approx(1.0)
            np.testing.assert_allclose(pad(got, len(want))[: len(want)], want, atol=1e-5)
        p = [s[s > 0] ** 2 for s in expected]
        np.testing.assert_allclose(entropies, [-(q * np.log(q)).sum() for q in p], atol=1e-4)


def test_entanglement_attributes_of_the_spiral_fit(fitted_spiral):
    assert_diagnostics_match_brute_force(fitted_spiral)
    history = fitted_spiral.entanglement_history_
    assert history[0].shape == (fitted_spiral.n_iter_, 2)
    np.testing.assert_allclose(history[0][-1], fitted_spiral.entanglement_entropy_[0], atol=1e-5)
    assert 0 < fitted_spiral.compression_ratio_ < 1
    assert fitted_spiral.mpos_[0].compression_ratio == pytest.approx(fitted_spiral.compression_ratio_)


@pytest.mark.parametrize(
    "params",
    [dict(sweep="layer_by_layer"), dict(solver="adam"), dict(solver="sgd"),
     dict(input_projection="trainable"), dict(svd_cutoff=0.05)],
)
def test_diagnostics_match_brute_force_for_every_solver(params):
    X, y = make_classification(120, n_features=6, n_informative=4, random_state=0)
    est = TNNClassifier(hidden_layer_sizes=(16, 8), bond_dim=3, max_iter=5, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert_diagnostics_match_brute_force(est)
    assert all(max(m.bond_dims) <= 3 for m in est.mpos_)
    assert [h.shape for h in est.entanglement_history_] == [(5, 1), (5, 1)]


def test_the_sweep_grows_bonds_from_a_product_operator():
    X, y = make_classification(200, n_features=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sweep = TNNClassifier(hidden_layer_sizes=(64,), bond_dim=8, max_iter=3, random_state=0).fit(X, y)
        adam = TNNClassifier(hidden_layer_sizes=(64,), bond_dim=8, max_iter=3, solver="adam", random_state=0).fit(X, y)
    assert sweep.mpos_[0].bond_dims == (8, 8)  # grown from (1, 1) by the SVD splits
    assert adam.mpos_[0].bond_dims == (8, 8)   # random initialisation at full bond dimension
    # After the first sweep the entropy is still far below the random MPO's.
    assert sweep.entanglement_history_[0][0].mean() < 0.5 * adam.entanglement_history_[0][0].mean()


def test_the_sweep_starts_a_layer_whose_product_lacks_full_rank_from_random_cores():
    # Cores of (16, 2), (2, 16): a product operator would be a rank-4 map of 32 units.
    X, y = make_classification(200, n_features=4, random_state=0)
    params = dict(hidden_layer_sizes=(32,), core_dims=[((16, 2), (2, 16))], bond_dim=8, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sweep = TNNClassifier(**params).fit(X, y)
        adam = TNNClassifier(solver="adam", **params).fit(X, y)
    assert sweep.mpos_[0].bond_dims == (8,)
    # After the first sweep the entropy is the random MPO's, as Adam's.
    assert sweep.entanglement_history_[0][0].mean() > 0.8 * adam.entanglement_history_[0][0].mean()


def test_svd_cutoff_lets_bond_dimensions_shrink():
    X, y = make_classification(200, n_features=4, random_state=0)
    est = TNNClassifier(hidden_layer_sizes=(64,), bond_dim=16, svd_cutoff=0.5, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert max(est.mpos_[0].bond_dims) < 16


def test_same_random_state_gives_identical_results():
    X, y = make_classification(150, n_features=5, random_state=1)
    fits = [TNNClassifier(**FAST).fit(X, y) for _ in range(2)]
    assert fits[0].loss_curve_ == fits[1].loss_curve_
    np.testing.assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))
    other = TNNClassifier(**{**FAST, "random_state": 1}).fit(X, y)
    assert other.loss_curve_ != fits[0].loss_curve_


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_persistence_gives_identical_predictions(tmp_path, dump, fitted_spiral, spiral):
    _, Xte, _, _ = spiral
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(fitted_spiral))
    else:
        joblib.dump(fitted_spiral, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(Xte), fitted_spiral.predict_proba(Xte))


def test_pickled_state_holds_cpu_tensors_only(fitted_spiral):
    state = fitted_spiral.__getstate__()
    assert all(t.device.type == "cpu" for t in state["network_"].state_dict().values())


def test_feature_names_in():
    X, y = make_classification(60, n_features=4, random_state=0)
    df = pd.DataFrame(X, columns=list("abcd"))
    est = TNNClassifier(**FAST).fit(df, y)
    np.testing.assert_array_equal(est.feature_names_in_, list("abcd"))
    assert est.n_features_in_ == 4


def test_zero_weights_are_ignored_by_the_loss():
    X, y = make_classification(100, n_features=4, random_state=0)
    w = np.r_[np.ones(50), np.zeros(50)]
    est = TNNClassifier(**{**FAST, "max_iter": 1, "batch_size": 100, "alpha": 0.0}).fit(X, y, sample_weight=w)
    with torch.no_grad():
        objective = Objective(est.network_, X.astype(np.float32), torch.as_tensor(est._label_encoder.transform(y)),
                              torch.as_tensor(w, dtype=torch.float32), "cross_entropy")
        half = Objective(est.network_, X[:50].astype(np.float32),
                         torch.as_tensor(est._label_encoder.transform(y[:50])), torch.ones(50), "cross_entropy")
        assert objective(torch.arange(100)).item() == pytest.approx(half(torch.arange(50)).item(), rel=1e-5)


def test_warm_start_continues_training():
    X, y = make_classification(120, n_features=4, random_state=0)
    est = TNNClassifier(**{**FAST, "max_iter": 5}, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        network = est.network_
        est.fit(X, y)
    # As sklearn's MLP: each fit runs up to max_iter, n_iter_ counts this call's.
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 10
    assert est.network_ is network
    assert est.entanglement_history_[0].shape[0] == 10


def test_early_stopping_keeps_validation_scores():
    X, y = make_classification(300, n_features=4, random_state=0)
    est = TNNClassifier(**{**FAST, "max_iter": 60}, early_stopping=True, n_iter_no_change=3).fit(X, y)
    assert len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.n_iter_ < 60


def test_the_validation_score_is_minus_the_weighted_loss_of_the_held_out_rows():
    # Early stopping judges the training objective's data term, as sklearn's log_loss and a
    # squared error of the standardised targets compute it.
    X, labels = make_classification(200, n_features=6, n_informative=4, n_classes=3, random_state=0)
    w = np.random.default_rng(0).uniform(0.5, 2.0, 200)
    params = {**FAST, "max_iter": 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cla = TNNClassifier(**params).fit(X, labels)
        targets = np.c_[X[:, 0] * 50 + 10, X[:, 1] - 3]
        reg = TNNRegressor(**params).fit(X, targets)
    score = cla._validation_score(X, np.searchsorted(cla.classes_, labels), w)
    assert score == pytest.approx(-log_loss(labels, cla.predict_proba(X), sample_weight=w), rel=1e-6)
    standardised = (reg.predict(X) - targets) / reg.target_scaler_.scale_
    score = reg._validation_score(X, reg.target_scaler_.transform(targets), w)
    assert score == pytest.approx(-0.5 * np.average(np.mean(standardised ** 2, axis=1), weights=w), rel=1e-6)
    # Held-out rows that all weigh nothing are judged unweighted rather than as 0 / 0.
    score = reg._validation_score(X, reg.target_scaler_.transform(targets), np.zeros(200))
    assert score == pytest.approx(-0.5 * np.mean(standardised ** 2), rel=1e-6)


def test_early_stopping_judges_multilabel_targets_by_their_binary_cross_entropy():
    X, Y = make_multilabel_classification(300, n_features=6, n_classes=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = TNNClassifier(**{**FAST, "max_iter": 5}, early_stopping=True).fit(X, Y)
    assert len(est.validation_scores_) == est.n_iter_ and all(np.isfinite(est.validation_scores_))
    probabilities = est.predict_proba(X)
    bce = -np.mean(np.sum(Y * np.log(probabilities) + (1 - Y) * np.log(1 - probabilities), axis=1))
    assert est._validation_score(X, Y.astype(float), np.ones(300)) == pytest.approx(-bce, rel=1e-5)


def test_convergence_warning_when_max_iter_is_reached():
    X, y = make_classification(60, n_features=4, random_state=0)
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        TNNClassifier(**{**FAST, "max_iter": 2}).fit(X, y)


@pytest.fixture
def registered():
    """``registered(name, cls)``: a solver registered for the test only."""
    names = []

    def register(name, solver_class):
        register_solver(name, solver_class)
        names.append(name)

    yield register
    for name in names:
        del SOLVERS[name]
        SOLVER_NAMES.discard(name)


@pytest.fixture
def scripted(registered):
    """Registers solver='scripted' for a test: the sweep, whose iterations
    then follow ``script(iteration, sweeper, loss)`` (set on the returned
    object): it may damage the weights and return another loss, or raise.
    ``calls`` counts the iterations and ``reductions`` records the step
    reductions (factor, the step multipliers after)."""

    class Script:
        script = staticmethod(lambda iteration, sweeper, loss: loss)
        calls, reductions = [], []

    class Scripted(DMRGSweeper):
        def run_iteration(self, *args):
            Script.calls.append(1)
            return Script.script(len(Script.calls), self, super().run_iteration(*args))

        def reduce_step(self, factor):
            super().reduce_step(factor)
            Script.reductions.append((factor, list(self.line_search.step_scales)))

    registered("scripted", Scripted)
    return Script


def output_bias(est):
    return est.network_.output.bias.detach().clone()


def test_a_blown_up_iteration_is_undone_and_the_step_halved(scripted):
    X, y = make_classification(100, n_features=4, random_state=0)
    kept = {}

    def script(iteration, sweeper, loss):
        if iteration == 2:
            kept["bias"] = output_bias(est)
        if iteration == 3:
            kept["scales"] = list(sweeper.line_search.step_scales)
            with torch.no_grad():
                est.network_.output.weight.mul_(1e4)
            return 1e6
        return loss

    est = TNNClassifier(**{**FAST, "max_iter": 3}, solver="scripted")
    scripted.script = script
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        est.fit(X, y)
    assert est.loss_curve_[2] == 1e6 and est.best_loss_ == min(est.loss_curve_[:2])
    torch.testing.assert_close(output_bias(est), kept["bias"])  # the weights of iteration 2
    assert scripted.reductions == [(0.5, [s / 2 for s in kept["scales"]])]
    assert np.isfinite(est.predict_proba(X)).all() and est.score(X, y) > 0.7


def test_backprop_recovers_from_a_divergence_with_a_smaller_step(registered):
    X, y = make_classification(100, n_features=4, random_state=0)
    rates = []

    class FailsOnce(AdamSolver):
        def run_iteration(self, *args):
            rates.append(self.optimizer.param_groups[0]["lr"])
            if len(rates) == 2:
                raise FloatingPointError("the training loss is not finite")
            return super().run_iteration(*args)

    registered("adam-fails-once", FailsOnce)
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        est = TNNClassifier(**{**FAST, "max_iter": 3}, solver="adam-fails-once").fit(X, y)
    assert rates == [0.01, 0.01, 0.005] and np.isnan(est.loss_curve_[1])


def test_a_nan_iteration_is_recorded_and_undone(scripted):
    X, y = make_classification(100, n_features=4, random_state=0)

    def script(iteration, sweeper, loss):
        if iteration == 2:
            raise FloatingPointError("the training loss is not finite")
        return loss

    scripted.script = script
    with pytest.warns(ConvergenceWarning):
        est = TNNClassifier(**{**FAST, "max_iter": 4}, solver="scripted").fit(X, y)
    assert np.isnan(est.loss_curve_[1]) and np.isfinite(est.loss_curve_[2:]).all()
    assert est.n_iter_ == 4 and est.entanglement_history_[0].shape[0] == 4


def test_a_fit_that_cannot_proceed_raises_and_leaves_the_estimator_unfitted(scripted):
    X, y = make_classification(100, n_features=4, random_state=0)

    def script(iteration, sweeper, loss):
        raise FloatingPointError("the training loss is not finite")

    scripted.script = script
    est = TNNClassifier(**FAST, solver="scripted")
    with pytest.raises(ValueError, match="training diverged: no iteration.*halved 11 times"):
        est.fit(X, y)
    assert len(scripted.calls) == 11
    assert not [k for k in vars(est) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_a_failed_warm_start_keeps_the_previous_model(scripted):
    X, y = make_classification(100, n_features=4, random_state=0)
    est = TNNClassifier(**{**FAST, "max_iter": 3}, warm_start=True, solver="scripted")
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    before = est.predict_proba(X), list(est.loss_curve_), est.n_iter_, est.entanglement_history_[0].copy()

    def script(iteration, sweeper, loss):
        raise FloatingPointError("the training loss is not finite")

    scripted.script = script
    with pytest.raises(ValueError, match="training diverged"):
        est.fit(X, y)
    np.testing.assert_array_equal(est.predict_proba(X), before[0])
    assert (est.loss_curve_, est.n_iter_) == (before[1], before[2])
    np.testing.assert_array_equal(est.entanglement_history_[0], before[3])
    with pytest.raises(ValueError, match="4 features"):  # bad data: also nothing changes
        est.fit(X[:, :3], y)
    np.testing.assert_array_equal(est.predict_proba(X), before[0])


def test_divergence_after_progress_warns_and_keeps_the_best_weights(scripted):
    X, y = make_classification(100, n_features=4, random_state=0)
    kept = {}

    def script(iteration, sweeper, loss):
        if iteration == 3:
            kept["bias"] = output_bias(est)
        if iteration > 3:
            raise FloatingPointError("the training loss is not finite")
        return loss

    est = TNNClassifier(**FAST, solver="scripted")
    scripted.script = script
    with pytest.warns(ConvergenceWarning, match="did not recover.*weights of iteration 3"):
        est.fit(X, y)
    assert est.n_iter_ == 3 + 11
    torch.testing.assert_close(output_bias(est), kept["bias"])


def test_the_best_weights_are_kept_when_the_last_iteration_is_worse(scripted):
    X, y = make_classification(100, n_features=4, random_state=0)
    kept = {}
    losses = [3.0, 2.0, 1.0, 1.5]  # the last one worse, but not a divergence

    def script(iteration, sweeper, loss):
        if iteration == 3:
            kept["bias"] = output_bias(est)
        if iteration == 4:
            with torch.no_grad():
                est.network_.output.bias.add_(5.0)
        return losses[iteration - 1]

    est = TNNClassifier(**{**FAST, "max_iter": 4}, solver="scripted")
    scripted.script = script
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        est.fit(X, y)
    assert est.loss_curve_ == losses and est.best_loss_ == 1.0
    torch.testing.assert_close(output_bias(est), kept["bias"])


def test_a_step_that_would_overflow_is_shortened_not_taken():
    # Unscaled data and a huge first step: the line search shortens it until
    # the loss decreases; the fit neither raises nor returns garbage.
    X, y = make_regression(200, n_features=4, noise=1.0, random_state=0)
    est = TNNRegressor(**FAST, standardize=False, learning_rate_init=1e3).fit(X * 100, y * 100)
    assert np.isfinite(est.loss_curve_).all() and est.score(X * 100, y * 100) > 0.9


def test_seeded_fits_leave_torchs_global_generator_alone():
    X, y = make_classification(60, n_features=4, random_state=0)
    state = torch.random.get_rng_state()
    TNNClassifier(**FAST).fit(X, y)
    TNNRegressor(**FAST, solver="adam").fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_float64_end_to_end():
    X, y = make_classification(120, n_features=5, n_classes=3, n_informative=3, random_state=0)
    est = TNNClassifier(**{**FAST, "max_iter": 5}, dtype="float64").fit(X, y)
    assert all(t.dtype == torch.float64 for t in est.network_.state_dict().values())
    assert all(core.dtype == torch.float64 for core in est.mpos_[0].cores)
    # Brute force from the dense weight: float32 anywhere would miss by ~1e-7.
    net = est.network_
    W = est.mpos_[0].to_dense().numpy()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    Z = Z / np.sqrt(1 + (Z / 3) ** 2)  # the soft clip of standardised features
    hidden = np.maximum(Z @ net.projection.detach().numpy() @ W + net.tn_layers[0].bias.detach().numpy(), 0)
    logits = hidden @ net.output.weight.detach().numpy().T + net.output.bias.detach().numpy()
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(est.predict_proba(X), proba / proba.sum(axis=1, keepdims=True), rtol=1e-12)


@pytest.mark.parametrize("solver", ["dmrg", "adam"])
@pytest.mark.parametrize("Estimator", [TNNClassifier, TNNRegressor])
def test_partial_fit_calls_equal_fit_iterations(Estimator, solver):
    # partial_fit carries the optimiser's state and the random generator from
    # call to call, so n calls on the whole data are n iterations of fit: with
    # three shuffled mini-batches per epoch, each call's order is drawn afresh.
    X, y = make_classification(90, n_features=4, random_state=0)
    params = dict(FAST, solver=solver, n_iter_no_change=100, batch_size=30)
    incremental = Estimator(**params)
    with pytest.warns(ConvergenceWarning):
        curve = Estimator(**{**params, "max_iter": 6}).fit(X, y).loss_curve_
    # fit keeps the best weights when the last iteration is not the best: compare
    # after an iteration that was the best so far.
    n_calls = max(n for n in range(2, 7) if curve[n - 1] == min(curve[:n]))
    for _ in range(n_calls):
        incremental.partial_fit(X, y, **({"classes": [0, 1]} if Estimator is TNNClassifier else {}))
    with pytest.warns(ConvergenceWarning):
        full = Estimator(**{**params, "max_iter": n_calls}).fit(X, y)
    # n_iter_ counts the last call's iterations, as sklearn's MLP.
    assert incremental.n_iter_ == 1 and incremental.loss_curve_ == full.loss_curve_
    np.testing.assert_array_equal(incremental.predict(X), full.predict(X))
    for a, b in zip(incremental.network_.state_dict().values(), full.network_.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_verbose_shows_a_progress_bar_with_loss_score_and_entropy(capsys):
    X, y = make_classification(100, n_features=4, random_state=0)
    TNNClassifier(**{**FAST, "max_iter": 4}, early_stopping=True, verbose=1).fit(X, y)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "TNNClassifier" in captured.err and "4/4" in captured.err
    for field in ("loss=", "val=", "entropy="):
        assert field in captured.err


def test_verbose_zero_prints_nothing(capsys):
    X, y = make_classification(100, n_features=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        TNNClassifier(**{**FAST, "max_iter": 4}, verbose=0).fit(X, y)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("interrupted_iteration", [1, 4])
def test_an_interrupted_fit_keeps_the_best_weights_and_can_continue(registered, interrupted_iteration):
    X, y = make_classification(100, n_features=4, random_state=0)
    visits, interrupt_at = [], None

    class Interrupted(DMRGSweeper):
        """The sweep, interrupted (Ctrl-C) at the visit ``interrupt_at``."""

        def update_bond(self, *args):
            visits.append(1)
            if len(visits) == interrupt_at:
                raise KeyboardInterrupt
            return super().update_bond(*args)

    registered("interrupted", Interrupted)
    with pytest.warns(ConvergenceWarning):
        TNNClassifier(**{**FAST, "max_iter": 1}, solver="interrupted").fit(X, y)
    # Half-way through the sweep of the interrupted iteration.
    interrupt_at = len(visits) * (interrupted_iteration - 1) + len(visits) // 2 + 1
    visits.clear()
    est = TNNClassifier(**FAST, solver="interrupted")
    with pytest.warns(UserWarning, match=f"interrupted during iteration {interrupted_iteration}"):
        est.fit(X, y)
    est.set_params(solver="dmrg")
    assert est.n_iter_ == interrupted_iteration - 1
    # The network kept is that of the best iteration completed, in a consistent state.
    best = int(np.argmin(est.loss_curve_)) + 1 if est.loss_curve_ else 0
    reference = TNNClassifier(**{**FAST, "max_iter": best or 1})
    if best:
        with pytest.warns(ConvergenceWarning):
            reference.fit(X, y)
        np.testing.assert_array_equal(est.predict_proba(X), reference.predict_proba(X))
    torch.testing.assert_close(est.network_.tn_layers[0].mpo.to_dense(), est.mpos_[0].to_dense())
    est.set_params(warm_start=True, max_iter=3)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == interrupted_iteration - 1 + 3
    assert est.score(X, y) > 0.5


def test_pipeline_grid_search_and_cross_val_score():
    X, y = make_classification(150, n_features=6, random_state=0)
    pipe = make_pipeline(StandardScaler(), TNNClassifier(**FAST))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.7
    search = GridSearchCV(pipe, {"tnnclassifier__bond_dim": [2, 4]}, cv=2, n_jobs=2).fit(X, y)
    # The search's scores are those of serial cross-validation with the
    # workers' thread count (docs/scaling.md), and it refits the best.
    with threadpool_limits(limits=max(1, joblib.cpu_count() // 2), user_api="openmp"):
        expected = [cross_val_score(clone(pipe).set_params(tnnclassifier__bond_dim=d), X, y, cv=2).mean()
                    for d in (2, 4)]
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], expected)
    best = (2, 4)[int(np.argmax(expected))]
    assert search.best_params_ == {"tnnclassifier__bond_dim": best}
    assert search.best_estimator_[-1].bond_dim == best and hasattr(search.best_estimator_[-1], "network_")
    assert clone(pipe).get_params()["tnnclassifier__bond_dim"] == 8


def test_input_projection_none_feeds_features_directly():
    X, y = make_classification(100, n_features=16, random_state=0)
    est = TNNClassifier(**{**FAST, "input_projection": "none"}).fit(X, y)
    assert est.network_.projection is None
    assert est.mpos_[0].shape == (16, 16)


@pytest.mark.parametrize("Estimator", [TNNClassifier, TNNRegressor])
def test_predict_before_fit_raises_not_fitted(Estimator):
    with pytest.raises(NotFittedError):
        Estimator().predict(np.zeros((2, 3)))


BAD_DATA = [
    (np.array([[0.0, np.nan]] * 4), [0, 1, 0, 1], "NaN"),
    (np.array([[0.0, np.inf]] * 4), [0, 1, 0, 1], "infinity"),
    (np.arange(4.0), [0, 1, 0, 1], "Expected 2D array"),
    (np.zeros((0, 3)), [], "0 sample"),
    (np.zeros((4, 2)), [0, 1, 0], "inconsistent numbers of samples"),
]


@pytest.mark.parametrize("X, y, message", BAD_DATA)
def test_bad_data_is_a_clear_error(X, y, message):
    with pytest.raises(ValueError, match=message):
        TNNClassifier(**FAST).fit(X, y)


def test_bad_targets_are_clear_errors():
    X = np.random.default_rng(0).normal(size=(4, 2))
    with pytest.raises(ValueError, match="only one class"):
        TNNClassifier(**FAST).fit(X, [1, 1, 1, 1])
    with pytest.raises(ValueError, match="NaN"):
        TNNRegressor(**FAST).fit(X, [0.0, np.nan, 1.0, 2.0])
    with pytest.raises(ValueError, match="Unknown label type"):
        TNNClassifier(**FAST).fit(X, [0.1, 0.2, 0.3, 0.4])


def test_wrong_number_of_features_at_predict(fitted_spiral):
    with pytest.raises(ValueError, match="X has 3 features, but TNNClassifier is expecting 2"):
        fitted_spiral.predict(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "params",
    [dict(learning_rate_init=v) for v in (np.nan, np.inf, None, 0, -1.0, "fast")]
    + [dict(alpha=v) for v in (np.nan, np.inf, None, -1e-3)]
    + [dict(tol=v) for v in (np.nan, None, -1.0)]
    + [dict(svd_cutoff=v) for v in (1.5, -0.1, np.nan)]
    + [dict(verbose=-1), dict(hidden_layer_sizes=None), dict(bond_dim=0), dict(bond_dim=2.5),
       dict(n_cores=0), dict(max_iter=0), dict(n_iter_no_change=0), dict(batch_size=0),
       dict(validation_fraction=1.5), dict(validation_fraction=0.0), dict(standardize="yes"),
       dict(solver="lbfgs"), dict(sweep="zigzag"), dict(input_projection="random"),
       dict(dtype="float16"), dict(activation="gelu"), dict(random_state="seed"),
       dict(learning_rate="optimal"), dict(power_t=-0.5), dict(power_t=np.nan), dict(core_dims="4x4")],
)
@pytest.mark.parametrize("Estimator", [TNNClassifier, TNNRegressor])
def test_bad_parameters_are_invalid_parameter_errors(Estimator, params):
    X, y = make_classification(40, n_features=4, random_state=0)
    (name,) = params
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of {Estimator.__name__} must be"):
        Estimator(**{**FAST, **params}).fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(activation=("relu", "tanh")), "one per TN layer"),
        (dict(activation=("gelu",)), "activation must be one of"),
        (dict(core_dims=[((16,), (16,))]), r"TN layer 0 \(16 -> 16 units\) has a single core"),
        (dict(core_dims=[((4, 4), (2, 4))]), r"core_dims of TN layer 0 \(16 -> 16 units\): out_dims=\(2, 4\) multiply "
                                             r"to 8, not to at least the width 16"),
        (dict(core_dims=[((4, 4), (4, 4))] * 2), r"one \(in_dims, out_dims\) pair per TN layer \(1\), got 2"),
        (dict(core_dims=[(4, 4)]), "core_dims of TN layer 0"),
        (dict(core_dims=[((4, 4), (4, 4))], n_cores=2), "n_cores or core_dims, not both"),
        (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes must be positive integers"),
        (dict(hidden_layer_sizes=()), "hidden_layer_sizes must be positive integers"),
        (dict(device="tpu"), "device"),
    ],
)
def test_bad_parameter_combinations_are_clear_errors(params, message):
    X, y = make_classification(40, n_features=4, random_state=0)
    est = TNNClassifier(**{**FAST, **params})
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("solver", ["dmrg", "adam"])
def test_core_dims_set_each_layers_cores(solver):
    X, y = make_classification(120, n_features=6, n_informative=4, n_classes=3, random_state=0)
    core_dims = [((4, 4), (2, 8)), ((8, 2), (2, 4))]
    est = TNNClassifier((16, 8), bond_dim=4, core_dims=core_dims, solver=solver, max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert [(mpo.in_dims, mpo.out_dims) for mpo in est.mpos_] == core_dims
    # The balanced split, given as core_dims, is the default fit itself.
    default = TNNClassifier((16, 8), bond_dim=4, solver=solver, max_iter=5, random_state=0)
    balanced = clone(default).set_params(core_dims=[(m.in_dims, m.out_dims) for m in default.fit(X, y).mpos_])
    np.testing.assert_array_equal(balanced.fit(X, y).predict_proba(X), default.predict_proba(X))


@pytest.mark.parametrize("Estimator", [TNNClassifier, TNNRegressor])
@pytest.mark.parametrize("projection", ["fixed", "none"])
def test_mlp_attributes_reproduce_the_predictions(Estimator, projection):
    # A numpy forward pass through coefs_ and intercepts_, as one would through
    # MLPClassifier's, gives the estimator's predictions.
    X, y = make_classification(120, n_features=8, n_classes=3, n_informative=4, random_state=0)
    if Estimator is TNNRegressor:
        y = 50.0 * y + 7.0
    est = Estimator(hidden_layer_sizes=(8, 8), activation=("tanh", "logistic"), input_projection=projection,
                    max_iter=5, dtype="float64", random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    activations = ["identity"] * (projection != "none") + ["tanh", "logistic", est.out_activation_]
    assert est.n_layers_ == len(est.coefs_) + 1 == len(est.intercepts_) + 1 == len(activations) + 1
    a = est.input_scaler_.transform(X)
    a = a / np.sqrt(1 + (a / 3) ** 2)  # the soft clip of standardised features
    for coef, intercept, activation in zip(est.coefs_, est.intercepts_, activations):
        z = a @ coef + intercept
        a = {"identity": z, "tanh": np.tanh(z), "logistic": 1 / (1 + np.exp(-z)),
             "softmax": np.exp(z - z.max(1, keepdims=True))}[activation]
    assert est.loss_ == est.loss_curve_[-1]
    if Estimator is TNNClassifier:
        assert est.n_outputs_ == 3 and est.out_activation_ == "softmax"
        np.testing.assert_allclose(a / a.sum(1, keepdims=True), est.predict_proba(X), rtol=1e-10, atol=1e-12)
    else:
        assert est.out_activation_ == "identity"
        np.testing.assert_allclose(est.target_scaler_.inverse_transform(a).ravel(), est.predict(X), rtol=1e-10)


def test_every_width_an_mlp_takes_trains():
    # A grid search over widths must not crash on a prime: a layer between widths with too few
    # prime factors is padded and uses the leading block of its MPO (97 x 97 as 98 x 98).
    X, y = make_classification(40, n_features=7, n_informative=4, random_state=0)
    for width in range(1, 131):
        for projection in ("none", "fixed") if width in (1, 2, 3, 7, 13, 97, 127) else ("none",):
            est = TNNClassifier(hidden_layer_sizes=(width,), input_projection=projection, max_iter=2, random_state=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                est.fit(X, y)
            first = 7 if projection == "none" else max(7, width)  # a projection never narrows the features
            assert [w.shape for w in est.coefs_][-2:] == [(first, width), (width, 2)], (width, projection)
            assert est.predict(X).shape == (40,) and est.network_.tn_layers[0].n_bonds >= 1
            assert 0 < est.compression_ratio_ and np.isfinite(est.entanglement_entropy_[0]).all()


def test_a_grid_search_over_widths_with_primes():
    X, y = make_classification(90, n_features=5, n_informative=3, random_state=0)
    search = GridSearchCV(TNNClassifier(max_iter=5, random_state=0),
                          {"hidden_layer_sizes": [(97,), (13, 50), (7,), (3,)]}, cv=3, error_score="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    padded = search.best_estimator_.network_.tn_layers[0]
    assert padded.mpo_shape[1] >= padded.out_features


def test_early_stopping_auto_holds_out_a_validation_set_on_large_data_only(monkeypatch):
    monkeypatch.setattr(skltnn._base, "EARLY_STOPPING_ROWS", 150)  # large data, at a test's size
    X, y = make_classification(300, n_features=6, random_state=0)
    params = dict(FAST, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        large = TNNClassifier(**params).fit(X, y)
        small = TNNClassifier(**params).fit(X[:150], y[:150])
        off = TNNClassifier(**params, early_stopping=False).fit(X, y)
    assert len(large.validation_scores_) == large.n_iter_ and large.best_validation_score_ < 0
    assert small.validation_scores_ is None and off.validation_scores_ is None
    # The held-out tenth is not trained on: the fit equals an explicit early_stopping=True.
    explicit = TNNClassifier(**params, early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        explicit.fit(X, y)
    np.testing.assert_array_equal(explicit.predict_proba(X), large.predict_proba(X))


def test_a_tiny_saturated_network_warns_with_its_capacity_and_the_fix():
    X, y = make_classification(200, n_features=6, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wide = TNNClassifier((1024,), max_iter=2, random_state=0).fit(X, y)
        TNNClassifier(max_iter=2, random_state=0).fit(X, y)  # the default (64,): 31% of a dense layer
    capacity = [str(w.message) for w in caught if w.category is CapacityWarning]
    assert len(capacity) == 1 and wide.compression_ratio_ < 0.02
    assert "16,384 weights, 1.6% of the 1,048,576" in capacity[0] and "bond_dim=32 gives 65,536" in capacity[0]
    # Bonds below bond_dim (not saturated) do not warn, however small the layer.
    with warnings.catch_warnings():
        warnings.simplefilter("error", CapacityWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        TNNClassifier((1024,), bond_dim=8, svd_cutoff=0.5, max_iter=2, random_state=0).fit(X, y)
