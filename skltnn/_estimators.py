"""TNNClassifier and TNNRegressor: tensor neural networks as scikit-learn estimators."""

import contextlib
import copy
import types
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data
from tqdm.auto import tqdm

from ._backprop import BackpropTrainer
from ._batches import BatchStream
from ._device import resolve_device, to_tensor
from ._entanglement import entanglement_entropy
from ._mpo import MPO, torch_generator
from ._network import ACTIVATIONS, PROJECTIONS, TNNetwork, layer_dims
from ._objective import Objective, SparseRows
from ._scaling import fit_scaler, standardize, unstandardize
from ._sweep import DMRGSweeper
from ._threads import limited_threads

SOLVERS = ("dmrg", "adam", "sgd")
SWEEPS = ("all_layers", "layer_by_layer")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# Default learning rates: the sweep's first step on a bond tensor (its line
# search adapts it); global Adam/SGD on products of cores need smaller ones.
DEFAULT_LEARNING_RATES = {"dmrg": 0.2, "adam": 0.01, "sgd": 0.01}
# batch_size='auto': the sweep takes the whole training set as one batch, as
# the paper does, up to this many rows (a step on small data costs about the
# same for any batch, and large data sets still get many steps per visit);
# the backprop solvers take scikit-learn's 200.
AUTO_BATCH_SIZES = {"dmrg": 1000, "adam": 200, "sgd": 200}
# Rows per forward pass when predicting.
CHUNK_ROWS = 65536
# An iteration has diverged when its loss is not finite or exceeds
# DIVERGENCE_FACTOR * best + DIVERGENCE_MARGIN (the losses of standardised
# data are O(1) at the start); the fit then restores the best weights and
# halves the step, at most MAX_RECOVERIES times in a row.
DIVERGENCE_FACTOR = 2.0
DIVERGENCE_MARGIN = 0.1
MAX_RECOVERIES = 10


def _copy_weights(network):
    """The values of every parameter, detached copies (far cheaper than deepcopy)."""
    return [param.detach().clone() for param in network.parameters()]


def _restore_weights(network, weights):
    """Set the parameters back to :func:`_copy_weights`' values, in place
    (the Parameter objects stay those the trainer holds; bond dimensions may differ)."""
    for param, weight in zip(network.parameters(), weights):
        param.data = weight.clone()


def _check_finite(A, what):
    if not np.isfinite(A).all():
        raise ValueError(f"{what} has values too large to standardise or to represent in the fit's dtype "
                         f"(largest magnitude {np.nanmax(np.abs(A)):.3g}); rescale it")
    return A


def _sparse_extremes(X, scaler):
    """The largest magnitude of each standardised column of a sparse X, without densifying it."""
    largest = abs(X).max(axis=0).toarray().ravel()
    return largest if scaler is None else (largest + np.abs(scaler.mean_)) / scaler.scale_


class BaseTNN(BaseEstimator, metaclass=ABCMeta):
    """Shared fitting logic of :class:`TNNClassifier` and :class:`TNNRegressor`."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "bond_dim": [Interval(Integral, 1, None, closed="left")],
        "n_cores": [Interval(Integral, 1, None, closed="left"), None],
        "activation": [StrOptions(set(ACTIVATIONS)), "array-like"],
        "input_projection": [StrOptions(set(PROJECTIONS))],
        "solver": [StrOptions(set(SOLVERS))],
        "sweep": [StrOptions(set(SWEEPS))],
        "learning_rate_init": [StrOptions({"auto"}), Interval(Real, 0, np.inf, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "alpha": [Interval(Real, 0, np.inf, closed="left")],
        "svd_cutoff": [Interval(Real, 0, 1, closed="both")],
        "tol": [Interval(Real, 0, np.inf, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "standardize": ["boolean"],
        "warm_start": ["boolean"],
        "device": [str],
        "dtype": [StrOptions(set(DTYPES))],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, hidden_layer_sizes=(64,), bond_dim=8, *, n_cores=None, activation="relu",
                 input_projection="fixed", solver="dmrg", sweep="all_layers",
                 learning_rate_init="auto", max_iter=200, batch_size="auto", shuffle=True,
                 alpha=1e-4, svd_cutoff=0.0, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, standardize=True, warm_start=False, device="auto",
                 dtype="float32", random_state=None, verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.bond_dim = bond_dim
        self.n_cores = n_cores
        self.activation = activation
        self.input_projection = input_projection
        self.solver = solver
        self.sweep = sweep
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.alpha = alpha
        self.svd_cutoff = svd_cutoff
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.standardize = standardize
        self.warm_start = warm_start
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ subclasses
    @abstractmethod
    def _encode_targets(self, y, first_fit, sample_weight, classes=None):
        """Targets as a torch-ready array, and the number of network outputs."""

    @abstractmethod
    def _validation_score(self, X, y):
        """Score on held-out data (higher is better)."""

    # ------------------------------------------------------------ validation
    def _layer_settings(self):
        """Hidden widths and per-layer activations (what the constraints cannot check)."""
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if not sizes or any(not isinstance(h, Integral) or h < 1 for h in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        activations = (self.activation,) * len(sizes) if isinstance(self.activation, str) else tuple(self.activation)
        if len(activations) != len(sizes):
            raise ValueError(
                f"activation must be a string or one per TN layer ({len(sizes)}), got {self.activation!r}"
            )
        for act in activations:
            if act not in ACTIVATIONS:
                raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {act!r}")
        return sizes, activations

    # ------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the network on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels or a multilabel indicator matrix (classifier), or
            real targets (regressor).
        sample_weight : array-like of shape (n_samples,), optional
            Per-sample weights of the loss.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On invalid data, or when training diverges at every step size
            tried; the estimator is then left as it was before the call
            (unfitted, or its previous model).

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` is reached before the loss stops improving, or
            when an iteration diverged ten times in a row after halving the
            step each time (the best weights so far are kept).

        Notes
        -----
        An iteration whose loss is not finite or more than twice the best so
        far (plus 0.1) is undone: the best weights come back and the step
        halves. Without early stopping, the weights of the best iteration
        are kept when the last one is worse. An interrupt (Ctrl-C) ends the
        fit with a warning and keeps the weights of the best iteration
        completed so far; the estimator is fitted and ``warm_start=True``
        continues from there.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        sizes, activations = self._layer_settings()
        first_fit = not hasattr(self, "network_") or not (self.warm_start or incremental)
        with self._rolled_back_on_error() as attempt, limited_threads():
            X, y = validate_data(self, X, y, reset=first_fit, multi_output=self._multi_output,
                                 y_numeric=not isinstance(self, ClassifierMixin),
                                 accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32])
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if not np.any(sample_weight > 0):
                raise ValueError("sample_weight must have at least one positive weight")
            Y, n_outputs = self._encode_targets(y, first_fit, sample_weight, classes)
            device, dtype = resolve_device(self.device), DTYPES[self.dtype]
            # fit starts every call from random_state, as scikit-learn's
            # estimators do; partial_fit carries one generator across its calls.
            rng = self._rng if incremental and not first_fit else check_random_state(self.random_state)
            if first_fit:
                self.input_scaler_ = fit_scaler(X, sample_weight) if self.standardize else None
                self._initialize(X.shape[1], n_outputs, sizes, activations, rng, dtype, device)
            network = self.network_.to(device)

            X_val = y_val = None
            if self.early_stopping and not incremental:
                stratify = y if isinstance(self, ClassifierMixin) and not self._multilabel else None
                split = train_test_split(X, Y, y, sample_weight, test_size=self.validation_fraction,
                                         random_state=rng, stratify=stratify)
                X, X_val, Y, _, _, y_val, sample_weight, _ = split
            if sp.issparse(X):  # made dense a batch at a time, never whole
                _check_finite(_sparse_extremes(X, self.input_scaler_).astype(self.dtype), "X")
                X = SparseRows(X, self.input_scaler_, np.dtype(self.dtype), device)
            else:
                X = _check_finite(standardize(self.input_scaler_, X, np.dtype(self.dtype)), "X")
            Yt = to_tensor(Y, torch.long if Y.dtype.kind == "i" else dtype, device)
            weights = to_tensor(sample_weight, dtype, device)
            objective = Objective(network, X, Yt, weights, self._loss)
            # alpha / 2 ||W||^2 over the total sample weight (the number of
            # samples when unweighted, as in sklearn's MLP): an integer weight
            # then acts like repeating the sample.
            l2 = 0.5 * self.alpha / float(weights.sum())
            batch_size = AUTO_BATCH_SIZES[self.solver] if self.batch_size == "auto" else self.batch_size
            stream = BatchStream(len(X), batch_size, self.shuffle, rng, device)
            # Like sklearn's MLP, partial_fit keeps the optimiser's state
            # between calls and fit starts a fresh one.
            if not incremental or self._trainer is None:
                self._trainer = self._make_trainer(network)
            attempt.training = True
            self._run_iterations(objective, l2, stream, X_val, y_val, incremental)
            self._set_diagnostics()
        return self

    @contextlib.contextmanager
    def _rolled_back_on_error(self):
        """Leave the estimator as it was before a fit that raises.

        Unfitted stays unfitted (nothing half-set), and a fitted estimator
        (warm_start, partial_fit) keeps its previous model. The trainer's
        state is dropped only once training had begun.
        """
        saved = {key: copy.deepcopy(value) if key == "_rng" else copy.copy(value)
                 for key, value in vars(self).items()}
        weights = _copy_weights(self.network_) if hasattr(self, "network_") else None
        attempt = types.SimpleNamespace(training=False)
        try:
            yield attempt
        except Exception:
            vars(self).clear()
            vars(self).update(saved)
            if weights is not None:
                _restore_weights(self.network_, weights)
                if attempt.training:
                    self._trainer = None
            raise

    def _initialize(self, n_features, n_outputs, sizes, activations, rng, dtype, device):
        widths = (n_features if self.input_projection == "none" else sizes[0], *sizes)
        dims = layer_dims(widths, self.n_cores)
        if self.solver == "dmrg":
            for index, (in_dims, _) in enumerate(dims):
                if len(in_dims) < 2:
                    raise ValueError(
                        f"TN layer {index} ({widths[index]} -> {widths[index + 1]} units) has a single "
                        f"core, which the DMRG sweep cannot train: choose widths with at least two "
                        f"prime factors (e.g. powers of 2) or input_projection='fixed'"
                    )
        # The sweep starts from product operators (S = 0) and its SVD splits
        # grow each bond up to bond_dim as the gradients demand, so the
        # entropies measure learned correlation rather than the random
        # initialisation's. Backprop cannot change bond dimensions.
        init_bond_dim = 1 if self.solver == "dmrg" else self.bond_dim
        self.network_ = TNNetwork(n_features, n_outputs, sizes, dims, init_bond_dim, activations,
                                  self.input_projection, torch_generator(rng), dtype, device)
        self.n_iter_, self.loss_curve_, self.best_loss_ = 0, [], np.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self._entropy_rows = []
        self._rng = rng
        self._trainer = None

    def _make_trainer(self, network):
        lr = self._learning_rate()
        if self.solver == "dmrg":
            return DMRGSweeper(network, lr, self.bond_dim, self.svd_cutoff, self.sweep)
        return BackpropTrainer(network, self.solver, lr)

    def _learning_rate(self):
        return DEFAULT_LEARNING_RATES[self.solver] if self.learning_rate_init == "auto" else self.learning_rate_init

    # ------------------------------------------------------------ iterations
    def _run_iterations(self, objective, l2, stream, X_val, y_val, incremental):
        """Iterate until max_iter or no improvement, as sklearn's MLP does.

        partial_fit runs a single iteration. An iteration that diverges
        (:meth:`_diverged`) is undone: the best weights come back and the
        step halves. With early stopping the network with the best
        validation score is kept; without, the best weights are kept when
        the last iteration's loss is worse. An interrupt (Ctrl-C) ends the
        fit with the best weights of the iterations completed so far.
        """
        n_iter = 1 if incremental else self.max_iter
        # The weights to fall back on: a sweep interrupted half-way has moved
        # some parameters and not others.
        best_weights, best_iteration = _copy_weights(self.network_), self.n_iter_
        no_improvement = recoveries = 0
        progressed = False
        stop = "max_iter"
        progress = tqdm(total=n_iter, desc=type(self).__name__, unit="iter", disable=not self.verbose)
        try:
            for _ in range(n_iter):
                try:
                    loss = self._trainer.run_iteration(objective, l2, stream)
                except FloatingPointError:
                    loss = np.nan
                self.n_iter_ += 1
                self.loss_curve_.append(loss)
                diverged = self._diverged(loss, incremental)
                if diverged:
                    _restore_weights(self.network_, best_weights)
                    self._trainer.reduce_step(0.5)
                    recoveries += 1
                else:
                    recoveries, progressed = 0, True
                improved, best, score = self._record_iteration(loss, X_val, y_val, diverged)
                if best:
                    best_weights, best_iteration = _copy_weights(self.network_), self.n_iter_
                no_improvement = 0 if improved else no_improvement + 1
                progress.set_postfix(self._progress_fields(loss, score), refresh=False)
                progress.update()
                if recoveries > MAX_RECOVERIES:
                    stop = "diverged"
                    break
                if incremental or no_improvement > self.n_iter_no_change:
                    stop = "converged"
                    break
        except KeyboardInterrupt:
            stop = "interrupted"
        finally:
            progress.close()
        if not (progressed or incremental or stop == "interrupted"):
            raise ValueError(
                f"{type(self).__name__}: training diverged: no iteration kept the loss finite and near its "
                f"best, even with the step halved {recoveries} times. Check X and y for extreme values, or "
                f"keep standardize=True."
            )
        self._end_iterations(stop, best_weights, best_iteration, X_val is not None, incremental)

    def _diverged(self, loss, incremental):
        """Whether an iteration's loss shows divergence: not finite, or (fit
        only: partial_fit's chunks differ) far above the best so far."""
        if not np.isfinite(loss):
            return True
        return not incremental and loss > DIVERGENCE_FACTOR * self.best_loss_ + DIVERGENCE_MARGIN

    def _record_iteration(self, loss, X_val, y_val, diverged):
        """Entropies, validation score and best values after an iteration.

        Returns whether it improved by ``tol``, whether its weights are the
        best so far, and the validation score (None without early stopping).
        """
        self._entropy_rows.append(self._current_entropies())
        score = None
        if X_val is not None:
            score = self._validation_score(X_val, y_val)
            self.validation_scores_.append(score)
            improved = score > self.best_validation_score_ + self.tol
            best = score > self.best_validation_score_
            self.best_validation_score_ = max(self.best_validation_score_, score)
        else:
            improved = not diverged and loss < self.best_loss_ - self.tol
            best = not diverged and loss < self.best_loss_
        if not diverged:
            self.best_loss_ = min(self.best_loss_, loss)
        return improved and not diverged, best and not diverged, score

    def _end_iterations(self, stop, best_weights, best_iteration, early_stopping, incremental):
        """Warn about a stop that was not a convergence and keep the right weights."""
        name = type(self).__name__
        keep_best = early_stopping or stop in ("interrupted", "diverged") or (
            not incremental and self.loss_curve_ and self.loss_curve_[-1] > self.best_loss_)
        if stop == "interrupted":
            warnings.warn(
                f"{name}: training interrupted during iteration {self.n_iter_ + 1}; keeping the weights of "
                f"iteration {best_iteration}, the best so far. Fit again with warm_start=True to continue.",
                UserWarning,
            )
        elif stop == "diverged":
            warnings.warn(
                f"{name}: training diverged and did not recover with the step halved {MAX_RECOVERIES} "
                f"times; keeping the weights of iteration {best_iteration}, the best so far.",
                ConvergenceWarning,
            )
        elif incremental and not np.isfinite(self.loss_curve_[-1]):
            warnings.warn(
                f"{name}: partial_fit's iteration diverged; the weights from before the call are kept "
                f"and the step is halved.", ConvergenceWarning,
            )
        elif stop == "max_iter":
            warnings.warn(
                f"{name}: maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                f"converged yet.", ConvergenceWarning,
            )
        elif self.verbose and not incremental:
            tqdm.write(f"No improvement greater than tol={self.tol} for {self.n_iter_no_change} "
                       f"consecutive iterations. Stopping.")
        if keep_best:
            _restore_weights(self.network_, best_weights)
            # The optimiser's moments belong to the discarded weights.
            self._trainer = None

    def _progress_fields(self, loss, validation_score):
        fields = {"loss": f"{loss:.4g}"}
        if validation_score is not None:
            fields["val"] = f"{validation_score:.4f}"
        entropies = np.concatenate(self._entropy_rows[-1])
        fields["entropy"] = f"{entropies.mean():.3f}"
        return fields

    def _current_entropies(self):
        return [np.array([entanglement_entropy(s.cpu().numpy()) for s in spectra])
                for spectra in self._trainer.bond_spectra()]

    def _set_diagnostics(self):
        """Fitted attributes derived from the trained weights."""
        layers = self.network_.tn_layers
        self.mpos_ = [MPO([c.detach().cpu().clone() for c in layer.cores]) for layer in layers]
        self.singular_values_ = [mpo.singular_values() for mpo in self.mpos_]
        self.entanglement_entropy_ = [mpo.entanglement_entropy() for mpo in self.mpos_]
        self.entanglement_history_ = [
            np.array([row[index] for row in self._entropy_rows]).reshape(len(self._entropy_rows),
                                                                          len(layer.cores) - 1)
            for index, layer in enumerate(layers)
        ]
        mpo_params = sum(mpo.n_params for mpo in self.mpos_)
        dense_params = sum(mpo.shape[0] * mpo.shape[1] for mpo in self.mpos_)
        self.compression_ratio_ = mpo_params / dense_params

    # ------------------------------------------------ MLPClassifier's attributes
    @property
    def loss_(self):
        """The last iteration's training loss, ``loss_curve_[-1]``."""
        check_is_fitted(self)
        return self.loss_curve_[-1]

    @property
    def coefs_(self):
        """Every layer's weight matrix, (n_in, n_out), as float64 numpy, built on access."""
        check_is_fitted(self)
        network = self.network_
        with torch.no_grad():
            weights = [] if network.projection is None else [network.projection]
            weights += [layer.mpo.to_dense() for layer in network.tn_layers] + [network.output.weight.T]
            return [w.detach().cpu().double().numpy() for w in weights]

    @property
    def intercepts_(self):
        """Every layer's bias vector (zeros for the input projection, which has none)."""
        check_is_fitted(self)
        network = self.network_
        with torch.no_grad():
            biases = [] if network.projection is None else [torch.zeros(network.projection.shape[1])]
            biases += [layer.bias for layer in network.tn_layers] + [network.output.bias]
            return [b.detach().cpu().double().numpy() for b in biases]

    @property
    def n_layers_(self):
        """Layers counted as scikit-learn's MLP does: input, hidden (projection included), output."""
        check_is_fitted(self)
        return len(self.network_.tn_layers) + (self.network_.projection is not None) + 2

    # --------------------------------------------------------------- predict
    def _forward(self, X):
        """Network output for new data X, validated, as float64 numpy."""
        check_is_fitted(self)
        return self._network_output(validate_data(self, X, reset=False, accept_sparse=("csr", "csc"),
                                                  dtype=[np.float64, np.float32]))

    def _network_output(self, X):
        """Network output for a validated array, standardised and computed in chunks.

        A chunk whose output is not finite in the fit's dtype (an input beyond
        the range the network was fitted on) is computed again in float64.
        """
        network, wide = self.network_, None
        outputs = []
        if sp.issparse(X):
            X = X.tocsr()  # row slices
        for start in range(0, X.shape[0], CHUNK_ROWS):
            chunk = standardize(self.input_scaler_, X[start:start + CHUNK_ROWS], np.float64)
            out = _evaluate(network, chunk)
            if not np.isfinite(out).all():
                if wide is None:
                    wide = copy.deepcopy(network).to(torch.float64)
                out = _evaluate(wide, chunk)
                if not np.isfinite(out).all():
                    raise ValueError(f"X has values too large for the network (largest magnitude "
                                     f"{abs(X).max():.3g}): its output is not finite even in float64")
            outputs.append(out)
        return np.concatenate(outputs)

    def __getstate__(self):
        # Tensors on a GPU would not unpickle on a CPU-only machine. The
        # trainer's optimiser state is not kept: partial_fit after loading
        # starts a fresh one.
        state = self.__dict__.copy()
        if "network_" in state:
            state["network_"] = copy.deepcopy(state["network_"]).to("cpu")
            state["_trainer"] = None
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags


def _evaluate(network, X):
    """``network(X)`` for a float64 numpy array, as float64 numpy."""
    param = next(network.parameters())
    with torch.no_grad():
        return network(to_tensor(X, param.dtype, param.device)).cpu().double().numpy()


class TNNClassifier(ClassifierMixin, BaseTNN):
    """Classifier whose hidden layers are MPOs trained by a DMRG-like sweep.

    input -> input projection -> [TN layer -> activation] * L -> dense -> softmax.
    Each TN layer holds its weight as an MPO of bond dimension at most
    ``bond_dim``; the default solver sweeps over neighbouring cores, takes a
    gradient step on their merged bond tensor and splits it back by a
    truncated SVD (Jahromi & Orús, 2022).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(64,)
        Width of each TN layer.
    bond_dim : int, default=8
        Maximum bond dimension of every MPO.
    n_cores : int, optional
        Cores per TN layer. Every width must split into that many factors
        >= 2. Default: about one core per factor of 4 of the width.
    activation : {'relu', 'logistic', 'tanh', 'identity'} or tuple, default='relu'
        One for all TN layers, or one per TN layer. 'sigmoid' is another
        name for 'logistic'.
    input_projection : {'fixed', 'trainable', 'none'}, default='fixed'
        Dense map from the features to the first TN layer's width: random
        and frozen (the paper's), trained, or none (the features feed the
        first TN layer directly and their count must factorise).
    solver : {'dmrg', 'adam', 'sgd'}, default='dmrg'
        'dmrg' is the two-site sweep; 'adam' and 'sgd' (Nesterov momentum
        0.9) train all cores by global backpropagation (MPO-Net).
    sweep : {'all_layers', 'layer_by_layer'}, default='all_layers'
        Order of the bond updates in one iteration (the paper's PaL or LbL).
    learning_rate_init : float or 'auto', default='auto'
        Step size; 'auto' is 0.2 for 'dmrg' and 0.01 for 'adam' and 'sgd'.
        With 'dmrg' this is the first gradient step on the bond tensors, and
        the dense parameters (biases, output layer, trainable projection)
        take Adam steps of a fifth of it; a backtracking line search then
        shortens any step that would not lower the loss and lengthens the
        steps while they succeed (up to 16x for the bonds, 4x for the dense
        parameters; see the user guide).
    max_iter : int, default=200
        Maximum iterations: one back-and-forth sweep over every bond for
        'dmrg', one epoch for 'adam' and 'sgd'.
    batch_size : int or 'auto', default='auto'
        Mini-batch size. 'auto' is ``min(1000, n_samples)`` for 'dmrg' (the
        paper's full batch on small data) and ``min(200, n_samples)`` for
        'adam' and 'sgd', as scikit-learn's MLP. At each bond the sweep takes
        one gradient step per mini-batch of an epoch. The working memory of a
        step grows with the batch, not with n_samples.
    shuffle : bool, default=True
        Reshuffle the samples at every epoch.
    alpha : float, default=1e-4
        L2 penalty ``alpha / 2 * sum ||W||_F^2 / sum(sample_weight)`` over
        the TN and output weights (computed exactly from the cores).
    svd_cutoff : float, default=0.0
        Drop singular values below this fraction of the largest at each
        split, so bond dimensions can shrink below ``bond_dim``.
    tol : float, default=1e-4
        Minimum improvement of the loss (or validation score) that counts.
        The loss is that of the standardised targets with
        ``standardize=True``, so ``tol`` does not depend on their units.
    n_iter_no_change : int, default=10
        Stop after this many iterations without improvement of ``tol``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop on its accuracy
        and keep the best weights.
    validation_fraction : float, default=0.1
    standardize : bool, default=True
        Centre and scale each feature by its (sample-weighted) mean and
        standard deviation before the network sees it (constant features
        are only centred); the regressor also standardises each target and
        maps its predictions back. The statistics come from the first call
        of ``fit`` or ``partial_fit`` and are kept by ``warm_start``, so the
        result does not depend on the units of X (or y). Computed in
        float64 before the cast to ``dtype``.
    warm_start : bool, default=False
        Continue from the previous fit's weights.
    device : str, default='auto'
        Where every tensor operation runs, the SVDs included: 'auto' (CUDA
        if available), 'cpu', 'cuda' or 'cuda:N'. Predictions come back as
        numpy arrays, and a fitted estimator pickles with its tensors on
        the CPU, so it loads on a machine without a GPU.
    dtype : {'float32', 'float64'}, default='float32'
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and the validation split; a fixed
        value gives bit-identical results on CPU.
    verbose : int, default=0
        When > 0, a progress bar (tqdm, on stderr) shows each iteration's
        training loss, validation score (with ``early_stopping``) and mean
        entanglement entropy. 0 prints nothing.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when X has string feature names.
    input_scaler_ : StandardScaler or None
        The feature standardisation (None with ``standardize=False``).
    n_iter_ : int
    loss_curve_ : list of float
        Mean training loss of each iteration (NaN for an iteration that
        diverged and was undone).
    best_loss_ : float
    validation_scores_ : list of float or None
        Validation accuracy per iteration with ``early_stopping``.
    best_validation_score_ : float or None
    network_ : torch.nn.Module
        The trained network.
    mpos_ : list of MPO
        The trained weight of each TN layer.
    singular_values_ : list of list of ndarray
        Per TN layer, the normalised spectrum of each bond of ``mpos_``.
    entanglement_entropy_ : list of ndarray
        Per TN layer, the entanglement entropy of each bond of ``mpos_``.
    entanglement_history_ : list of ndarray
        Per TN layer, shape (n_iter_, n_bonds): entropies after each
        iteration (the paper's Figs. 12 and 14).
    compression_ratio_ : float
        MPO parameters of the TN layers over those of equal dense layers.
    loss_ : float
        The last iteration's training loss.
    coefs_ : list of ndarray
        As ``MLPClassifier.coefs_``, built on access: the weight matrix
        (n_in, n_out) of the input projection (if any), of each TN layer (its
        MPO contracted to a dense matrix) and of the output layer. They act
        on the standardised features (``input_scaler_``); the projection has
        no activation.
    intercepts_ : list of ndarray
        The layers' bias vectors, in the same order (zeros for the
        projection, which has none).
    n_layers_ : int
        ``len(coefs_) + 1``, as scikit-learn's MLP counts layers.
    n_outputs_ : int
        Network outputs: one per class (also for two classes, where
        ``MLPClassifier`` has one).
    out_activation_ : str
        'softmax', or 'logistic' for multilabel y.

    Examples
    --------
    >>> from skltnn import TNNClassifier
    >>> from skltnn.datasets import make_spiral
    >>> X, y = make_spiral(600, random_state=0)
    >>> clf = TNNClassifier(bond_dim=8, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.95
    True
    """

    _multi_output = True  # a multilabel indicator matrix

    @property
    def _loss(self):
        return "binary_cross_entropy" if self._multilabel else "cross_entropy"

    @property
    def n_outputs_(self):
        check_is_fitted(self)
        return len(self.classes_)

    @property
    def out_activation_(self):
        check_is_fitted(self)
        return "logistic" if self._multilabel else "softmax"

    def _encode_targets(self, y, first_fit, sample_weight, classes=None):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        target_type = type_of_target(y)
        if target_type not in ("binary", "multiclass", "multilabel-indicator"):
            raise ValueError(f"TNNClassifier supports binary, multiclass and multilabel-indicator targets, "
                             f"got {target_type!r}")
        multilabel = target_type == "multilabel-indicator"
        if first_fit:
            self._multilabel = multilabel
        elif multilabel != self._multilabel:
            raise ValueError(f"y is {target_type}, the first fit's was "
                             f"{'multilabel-indicator' if self._multilabel else 'not'}")
        if multilabel:
            return self._encode_labels(y, first_fit, classes)
        if first_fit:
            self._label_encoder = LabelEncoder().fit(y if classes is None else classes)
            self.classes_ = self._label_encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    f"y contains only one class ({self.classes_[0]!r}); a classifier needs at least 2 classes"
                )
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={list(classes)!r} differs from the first call's {self.classes_.tolist()!r}")
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(f"y contains classes not in classes_ {self.classes_.tolist()}: {unknown.tolist()}")
        return self._label_encoder.transform(y).astype(np.int64), len(self.classes_)

    def _encode_labels(self, y, first_fit, classes):
        """A multilabel indicator matrix as float targets, one output per label (as MLPClassifier)."""
        if first_fit:
            self.classes_ = np.arange(y.shape[1])
        if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={list(classes)!r} does not match the {y.shape[1]} labels of y")
        if y.shape[1] != len(self.classes_):
            raise ValueError(f"y has {y.shape[1]} labels, the first fit had {len(self.classes_)}")
        return y.astype(np.float64), y.shape[1]

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one iteration on a chunk of data, continuing any previous fit.

        One iteration is one back-and-forth sweep ('dmrg') or one epoch
        ('adam', 'sgd') over the chunk. Early stopping does not apply.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a multilabel indicator matrix.
        classes : array-like of shape (n_classes,), optional
            Every class of the whole data set: required on the first call,
            as a chunk may lack some; optional afterwards.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be given on the first call to partial_fit")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _validation_score(self, X, y):
        return accuracy_score(y, self._labels(self._network_output(X)))

    def _labels(self, logits):
        if self._multilabel:
            return (logits > 0).astype(np.int64)
        return self.classes_[logits.argmax(axis=1)]

    def decision_function(self, X):
        """Class scores (logits): shape (n_samples,) for two classes, else (n_samples, n_classes)
        (one per label for multilabel y)."""
        logits = self._forward(X)
        return logits[:, 1] - logits[:, 0] if logits.shape[1] == 2 and not self._multilabel else logits

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in the order of ``classes_``
        (for multilabel y, each label's own probability)."""
        logits = self._forward(X)
        if self._multilabel:
            return expit(logits)
        return softmax(logits, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        logits = self._forward(X)
        if self._multilabel:
            return -np.logaddexp(0.0, -logits)
        return log_softmax(logits, axis=1)

    def predict(self, X):
        """Predicted class labels, of the type given at fit (an indicator matrix for multilabel y)."""
        return self._labels(self._forward(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = False  # multilabel only
        return tags


class TNNRegressor(RegressorMixin, BaseTNN):
    """Regressor whose hidden layers are MPOs trained by a DMRG-like sweep.

    input -> input projection -> [TN layer -> activation] * L -> dense
    (identity output), trained on the squared error. Single or multi-output
    y. The parameters are those of :class:`TNNClassifier`; early stopping
    uses the validation R^2.

    Parameters
    ----------
    hidden_layer_sizes, bond_dim, n_cores, activation, input_projection, solver, \
sweep, learning_rate_init, max_iter, batch_size, shuffle, alpha, svd_cutoff, \
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
        return _check_finite(standardize(self.target_scaler_, Y, np.float64), "y"), Y.shape[1]

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

    def _validation_score(self, X, y):
        return r2_score(y, unstandardize(self.target_scaler_, self._network_output(X)).reshape(np.shape(y)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        out = self._forward(X)
        out = unstandardize(self.target_scaler_, out)
        return out.ravel() if self.n_outputs_ == 1 else out
