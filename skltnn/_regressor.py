"""TNNRegressor: a tensor neural network for regression."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._base import BaseTNN
from ._data import check_finite
from ._scaling import fit_scaler, standardize, unstandardize


class TNNRegressor(RegressorMixin, BaseTNN):
    """Regressor whose hidden layers are MPOs trained by a DMRG-like sweep.

    input -> input projection -> [TN layer -> activation] * L -> dense
    (identity output), trained on the squared error. Single or multi-output
    y. The parameters are those of :class:`TNNClassifier`; early stopping
    uses the validation loss, half the mean squared error of the
    standardised targets (``validation_scores_`` holds minus it).

    Parameters
    ----------
    hidden_layer_sizes, bond_dim, n_cores, core_dims, activation, input_projection, solver, \
sweep, learning_rate_init, learning_rate, power_t, max_iter, batch_size, shuffle, alpha, svd_cutoff, \
tol, n_iter_no_change, early_stopping, validation_fraction, standardize, warm_start, \
device, dtype, random_state, verbose
        As in :class:`TNNClassifier`.

    Attributes
    ----------
    n_outputs_ : int
    target_scaler_ : StandardScaler or None
        The target standardisation (None with ``standardize=False``): the
        network predicts standardised targets, mapped back by ``predict``.
    n_features_in_, feature_names_in_, input_scaler_, n_iter_, loss_curve_, best_loss_, \
validation_scores_, best_validation_score_, network_, mpos_, singular_values_, \
entanglement_entropy_, entanglement_history_, compression_ratio_, loss_, coefs_, \
intercepts_, n_layers_
        As in :class:`TNNClassifier`; ``coefs_`` and ``intercepts_`` give
        the standardised targets (``target_scaler_``).
    out_activation_ : str
        'identity'.

    Examples
    --------
    >>> import numpy as np
    >>> from skltnn import TNNRegressor
    >>> X = np.linspace(0, 1, 200)[:, None]
    >>> y = 0.55 * X.ravel() + 0.2
    >>> reg = TNNRegressor(hidden_layer_sizes=(16,), random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    _multi_output = True
    _loss = "squared_error"

    @property
    def out_activation_(self):
        check_is_fitted(self)
        return "identity"

    def _encode_targets(self, y, first_fit, sample_weight, classes=None):
        Y = np.asarray(y, dtype=np.float64)
        Y = Y.reshape(len(Y), -1)
        if first_fit:
            self.n_outputs_ = Y.shape[1]
            self.target_scaler_ = fit_scaler(Y, sample_weight) if self.standardize else None
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, the previous fit had {self.n_outputs_}")
        return check_finite(standardize(self.target_scaler_, Y, np.float64), "y"), Y.shape[1]

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one iteration on a chunk of data, continuing any previous fit.

        One iteration is one back-and-forth sweep ('dmrg') or one epoch
        ('adam', 'sgd') over the chunk. Early stopping does not apply.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        out = self._forward(X)
        out = unstandardize(self.target_scaler_, out)
        return out.ravel() if self.n_outputs_ == 1 else out
