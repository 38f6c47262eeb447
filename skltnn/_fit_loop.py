"""The iterations of a fit: stopping, divergence recovery, the best weights, and their history."""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from tqdm.auto import tqdm

from ._entanglement import bond_entropies

# An iteration has diverged when its loss is not finite or exceeds
# DIVERGENCE_FACTOR * best + DIVERGENCE_MARGIN (the losses of standardised
# data are O(1) at the start); the fit then restores the best weights and
# halves the step, at most MAX_RECOVERIES times in a row.
DIVERGENCE_FACTOR = 2.0
DIVERGENCE_MARGIN = 0.1
MAX_RECOVERIES = 10


class History:
    """What a model's iterations recorded, over its fit and partial_fit calls.

    Attributes
    ----------
    loss_curve : list of float
        Each iteration's mean training loss (NaN where it diverged).
    best_loss : float
    validation_scores : list of float or None
        Each iteration's validation score, with early stopping (else None).
    best_validation_score : float or None
    entropies : list
        Per iteration, per TN layer, the entanglement entropy of each bond
        (recorded by :func:`record_entropies`).
    """

    def __init__(self, early_stopping):
        self.loss_curve, self.best_loss, self.entropies = [], np.inf, []
        self.validation_scores = self.best_validation_score = None
        if early_stopping:
            self.start_validation()

    def start_validation(self):
        """Record validation scores from now on (a warm start that stops early)."""
        if self.validation_scores is None:
            self.validation_scores, self.best_validation_score = [], -np.inf


class FitLoop:
    """Runs a solver until ``max_iter`` iterations or no improvement, as sklearn's MLP does.

    An iteration improves when its training loss is ``tol`` below the best
    so far; with early stopping, when its validation score is the best so
    far (the held-out rows, not a tolerance, decide how long to train).
    An iteration that diverges (:meth:`diverged`) is undone: the best
    weights come back and the step halves. With early stopping (``score``)
    the network with the best validation score is kept; without, the best
    weights are kept when the last iteration's loss is worse. An interrupt
    (Ctrl-C) ends the fit with the best weights of the iterations completed
    so far. Every iteration goes to ``history``, then to the ``callbacks``.

    Parameters
    ----------
    network : TNNetwork
    solver : Solver
    history : History
        Appended to; it carries the best loss and score across calls.
    max_iter, tol, n_iter_no_change : as the estimators' parameters
    score : callable, optional
        ``score()``: the network's validation score (higher is better), for
        early stopping.
    incremental : bool, default=False
        A partial_fit call: one iteration, and its chunk's loss is not
        compared with the best of other chunks.
    callbacks : sequence of callables
        ``callback(loop, loss, score)`` after each iteration, once
        ``history`` has it, and ``callback.close(loop, stop)`` at the end
        where it has one: :func:`record_entropies`, :class:`ProgressBar`.
    name : str
        Who fits, for the warnings.

    Attributes
    ----------
    n_iter : int
        The iterations of this call.
    """

    def __init__(self, network, solver, history, *, max_iter, tol, n_iter_no_change, score=None, incremental=False,
                 callbacks=(), name="TNN"):
        self.network, self.solver, self.history = network, solver, history
        self.max_iter, self.tol, self.n_iter_no_change = max_iter, tol, n_iter_no_change
        self.score, self.incremental, self.callbacks, self.name = score, incremental, list(callbacks), name
        self.n_iter = self.recoveries = 0

    def run(self, objective, l2, stream):
        """Iterate; returns why it stopped ('converged', 'max_iter', 'diverged'
        or 'interrupted'); raises ValueError when no iteration could progress."""
        n_iter = 1 if self.incremental else self.max_iter
        # The state to fall back on: a sweep interrupted half-way has moved
        # some parameters and not others.
        self.best = (self.network.weights(), self.solver.state_dict(), len(self.history.loss_curve))
        no_improvement, progressed, stop = 0, False, "max_iter"
        try:
            for _ in range(n_iter):
                improved, kept = self._iterate(objective, l2, stream)
                progressed |= kept
                no_improvement = 0 if improved else no_improvement + 1
                if self.recoveries > MAX_RECOVERIES:
                    stop = "diverged"
                    break
                if self.incremental:
                    stop = "converged"
                    break
                if no_improvement > self.n_iter_no_change:
                    if not self.solver.on_plateau():
                        stop = "converged"
                        break
                    no_improvement = 0
        except KeyboardInterrupt:
            stop = "interrupted"
        finally:
            for callback in self.callbacks:
                getattr(callback, "close", lambda loop, stop: None)(self, stop)
        if not (progressed or self.incremental or stop == "interrupted"):
            raise ValueError(
                f"{self.name}: training diverged: no iteration kept the loss finite and near its best, even "
                f"with the step halved {self.recoveries} times. Check X and y for extreme values, or keep "
                f"standardize=True."
            )
        self._finish(stop)
        return stop

    def _iterate(self, objective, l2, stream):
        """One iteration and its bookkeeping; returns (improved, kept)."""
        try:
            loss = self.solver.run_iteration(objective, l2, stream)
        except FloatingPointError:
            loss = np.nan
        self.n_iter += 1
        self.history.loss_curve.append(loss)
        diverged = self.diverged(loss)
        if diverged:
            self.network.load_weights(self.best[0])
            self.solver.reduce_step(0.5)
            self.recoveries += 1
        else:
            self.recoveries = 0
        improved, best, score = self._record(loss, diverged)
        if best:
            self.best = (self.network.weights(), self.solver.state_dict(), len(self.history.loss_curve))
        for callback in self.callbacks:
            callback(self, loss, score)
        return improved, not diverged

    def diverged(self, loss):
        """Whether an iteration's loss shows divergence: not finite, or (fit
        only: partial_fit's chunks differ) far above the best so far."""
        if not np.isfinite(loss):
            return True
        return not self.incremental and loss > DIVERGENCE_FACTOR * self.history.best_loss + DIVERGENCE_MARGIN

    def _record(self, loss, diverged):
        """The validation score and best values after an iteration.

        Returns whether it improved (a training loss ``tol`` below the best;
        with early stopping, a new best validation score), whether its
        weights are the best so far, and the validation score (None without
        early stopping).
        """
        history, score = self.history, None
        if self.score is not None:
            score = self.score()
            history.validation_scores.append(score)
            # Any new best counts, as in HistGradientBoosting (whose tol is
            # 1e-7): the held-out rows decide how long to train, and on large
            # data the loss may go on falling by little an iteration for long.
            improved = best = score > history.best_validation_score
            history.best_validation_score = max(history.best_validation_score, score)
        else:
            improved = not diverged and loss < history.best_loss - self.tol
            best = not diverged and loss < history.best_loss
        if not diverged:
            history.best_loss = min(history.best_loss, loss)
        return improved and not diverged, best and not diverged, score

    def _finish(self, stop):
        """Warn about a stop that was not a convergence and keep the right weights."""
        curve, best_iteration = self.history.loss_curve, self.best[2]
        if stop == "interrupted":
            warnings.warn(
                f"{self.name}: training interrupted during iteration {len(curve) + 1}; keeping the weights of "
                f"iteration {best_iteration}, the best so far. Fit again with warm_start=True to continue.",
                UserWarning,
            )
        elif stop == "diverged":
            warnings.warn(
                f"{self.name}: training diverged and did not recover with the step halved {MAX_RECOVERIES} "
                f"times; keeping the weights of iteration {best_iteration}, the best so far.",
                ConvergenceWarning,
            )
        elif self.incremental and not np.isfinite(curve[-1]):
            warnings.warn(
                f"{self.name}: partial_fit's iteration diverged; the weights from before the call are kept "
                f"and the step is halved.", ConvergenceWarning,
            )
        elif stop == "max_iter":
            warnings.warn(
                f"{self.name}: maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                f"converged yet.", ConvergenceWarning,
            )
        keep_best = self.score is not None or stop in ("interrupted", "diverged") or (
            not self.incremental and curve and curve[-1] > self.history.best_loss)
        if keep_best:
            self.network.load_weights(self.best[0])
            self.solver.load_state_dict(self.best[1])


def record_entropies(loop, loss, score):
    """A callback: the bond entropies of every TN layer after the iteration, to the history."""
    loop.history.entropies.append([bond_entropies([s.cpu().numpy() for s in spectra])
                                   for spectra in loop.solver.bond_spectra()])


class ProgressBar:
    """A callback: a progress bar of the iterations with the loss, the
    validation score and the mean entropy (after :func:`record_entropies`)."""

    def __init__(self, total, name):
        self.bar = tqdm(total=total, desc=name, unit="iter")

    def __call__(self, loop, loss, score):
        fields = {"loss": f"{loss:.4g}"}
        if score is not None:
            fields["val"] = f"{score:.4f}"
        if loop.history.entropies:
            fields["entropy"] = f"{np.concatenate(loop.history.entropies[-1]).mean():.3f}"
        self.bar.set_postfix(fields, refresh=False)
        self.bar.update()

    def close(self, loop, stop):
        self.bar.close()
        if stop == "converged" and not loop.incremental:
            tqdm.write(f"No improvement greater than tol={loop.tol} for {loop.n_iter_no_change} "
                       f"consecutive iterations. Stopping.")
