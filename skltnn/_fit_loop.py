"""The iterations of a fit: stopping, divergence recovery, the best weights, progress."""

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


class FitLoop:
    """Runs a solver until ``max_iter`` or no improvement, as sklearn's MLP does.

    partial_fit runs a single iteration. An iteration that diverges
    (:meth:`diverged`) is undone: the best weights come back and the step
    halves. With early stopping the network with the best validation score
    is kept; without, the best weights are kept when the last iteration's
    loss is worse. An interrupt (Ctrl-C) ends the fit with the best weights
    of the iterations completed so far. The history goes to the estimator's
    fitted attributes (``n_iter_`` for this call, ``loss_curve_`` since the
    first fit, ``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``).

    Parameters
    ----------
    estimator : BaseTNN
    solver : Solver
    validation : (X, y) or None
        Held-out data for early stopping.
    incremental : bool
        Whether this is a partial_fit call.
    """

    def __init__(self, estimator, solver, validation, incremental):
        self.estimator, self.solver = estimator, solver
        self.network = estimator.network_
        self.validation, self.incremental = validation, incremental
        self.recoveries = 0

    def run(self, objective, l2, stream):
        """Iterate; returns nothing, raises ValueError when no iteration could progress."""
        est = self.estimator
        n_iter = 1 if self.incremental else est.max_iter
        est.n_iter_ = 0  # this call's iterations, as sklearn's MLP (loss_curve_ keeps them all)
        # The state to fall back on: a sweep interrupted half-way has moved
        # some parameters and not others.
        self.best = (self.network.weights(), self.solver.state_dict(), len(est.loss_curve_))
        no_improvement, progressed, stop = 0, False, "max_iter"
        progress = tqdm(total=n_iter, desc=type(est).__name__, unit="iter", disable=not est.verbose)
        try:
            for _ in range(n_iter):
                improved, kept = self._iterate(objective, l2, stream, progress)
                progressed |= kept
                no_improvement = 0 if improved else no_improvement + 1
                if self.recoveries > MAX_RECOVERIES:
                    stop = "diverged"
                    break
                if self.incremental:
                    stop = "converged"
                    break
                if no_improvement > est.n_iter_no_change:
                    if not self.solver.on_plateau():
                        stop = "converged"
                        break
                    no_improvement = 0
        except KeyboardInterrupt:
            stop = "interrupted"
        finally:
            progress.close()
        if not (progressed or self.incremental or stop == "interrupted"):
            raise ValueError(
                f"{type(est).__name__}: training diverged: no iteration kept the loss finite and near its "
                f"best, even with the step halved {self.recoveries} times. Check X and y for extreme "
                f"values, or keep standardize=True."
            )
        self._finish(stop)

    def _iterate(self, objective, l2, stream, progress):
        """One iteration and its bookkeeping; returns (improved, kept)."""
        est = self.estimator
        try:
            loss = self.solver.run_iteration(objective, l2, stream)
        except FloatingPointError:
            loss = np.nan
        est.n_iter_ += 1
        est.loss_curve_.append(loss)
        diverged = self.diverged(loss)
        if diverged:
            self.network.load_weights(self.best[0])
            self.solver.reduce_step(0.5)
            self.recoveries += 1
        else:
            self.recoveries = 0
        improved, best, score = self._record(loss, diverged)
        if best:
            self.best = (self.network.weights(), self.solver.state_dict(), len(est.loss_curve_))
        if est.verbose:  # formatting the fields costs about 1% of a small network's iteration
            progress.set_postfix(self._progress_fields(loss, score), refresh=False)
        progress.update()
        return improved, not diverged

    def diverged(self, loss):
        """Whether an iteration's loss shows divergence: not finite, or (fit
        only: partial_fit's chunks differ) far above the best so far."""
        if not np.isfinite(loss):
            return True
        return not self.incremental and loss > DIVERGENCE_FACTOR * self.estimator.best_loss_ + DIVERGENCE_MARGIN

    def _record(self, loss, diverged):
        """Entropies, validation score and best values after an iteration.

        Returns whether it improved by ``tol``, whether its weights are the
        best so far, and the validation score (None without early stopping).
        """
        est = self.estimator
        est._entropy_rows.append([bond_entropies([s.cpu().numpy() for s in spectra])
                                  for spectra in self.solver.bond_spectra()])
        score = None
        if self.validation is not None:
            score = est._validation_score(*self.validation)
            est.validation_scores_.append(score)
            improved = score > est.best_validation_score_ + est.tol
            best = score > est.best_validation_score_
            est.best_validation_score_ = max(est.best_validation_score_, score)
        else:
            improved = not diverged and loss < est.best_loss_ - est.tol
            best = not diverged and loss < est.best_loss_
        if not diverged:
            est.best_loss_ = min(est.best_loss_, loss)
        return improved and not diverged, best and not diverged, score

    def _finish(self, stop):
        """Warn about a stop that was not a convergence and keep the right weights."""
        est = self.estimator
        name, best_iteration = type(est).__name__, self.best[2]
        if stop == "interrupted":
            warnings.warn(
                f"{name}: training interrupted during iteration {len(est.loss_curve_) + 1}; keeping the weights of "
                f"iteration {best_iteration}, the best so far. Fit again with warm_start=True to continue.",
                UserWarning,
            )
        elif stop == "diverged":
            warnings.warn(
                f"{name}: training diverged and did not recover with the step halved {MAX_RECOVERIES} "
                f"times; keeping the weights of iteration {best_iteration}, the best so far.",
                ConvergenceWarning,
            )
        elif self.incremental and not np.isfinite(est.loss_curve_[-1]):
            warnings.warn(
                f"{name}: partial_fit's iteration diverged; the weights from before the call are kept "
                f"and the step is halved.", ConvergenceWarning,
            )
        elif stop == "max_iter":
            warnings.warn(
                f"{name}: maximum iterations ({est.max_iter}) reached and the optimization hasn't "
                f"converged yet.", ConvergenceWarning,
            )
        elif est.verbose and not self.incremental:
            tqdm.write(f"No improvement greater than tol={est.tol} for {est.n_iter_no_change} "
                       f"consecutive iterations. Stopping.")
        keep_best = self.validation is not None or stop in ("interrupted", "diverged") or (
            not self.incremental and est.loss_curve_ and est.loss_curve_[-1] > est.best_loss_)
        if keep_best:
            self.network.load_weights(self.best[0])
            self.solver.load_state_dict(self.best[1])

    def _progress_fields(self, loss, validation_score):
        fields = {"loss": f"{loss:.4g}"}
        if validation_score is not None:
            fields["val"] = f"{validation_score:.4f}"
        fields["entropy"] = f"{np.concatenate(self.estimator._entropy_rows[-1]).mean():.3f}"
        return fields
