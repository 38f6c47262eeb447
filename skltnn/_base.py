"""BaseTNN: what TNNClassifier and TNNRegressor share (parameters, fit, predict)."""

import contextlib
import copy
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._batches import BatchStream
from ._cores import max_bond_dims, n_params_at, torch_generator
from ._data import network_output, training_rows
from ._device import resolve_device, to_tensor
from ._entanglement import bond_entropies
from ._fit_loop import FitLoop, History, ProgressBar, record_entropies
from ._mpo import MPO
from ._network import ACTIVATIONS, PROJECTIONS, TNNetwork, first_width, layer_dims
from ._objective import LOSSES, Objective
from ._scaling import fit_scaler
from ._solvers import SOLVER_NAMES, SOLVERS
from ._threads import limited_threads
from .exceptions import CapacityWarning

SWEEPS = ("all_layers", "layer_by_layer")
DTYPES = {"float32": torch.float32, "float64": torch.float64}
# A network whose TN layers hold less than this fraction of the weights of
# dense layers, with every bond at bond_dim, gives a CapacityWarning.
TINY_CAPACITY = 0.02
# early_stopping='auto' holds out a validation set above this many samples:
# a tenth of them, 200 rows or more, judges how long to train better than
# the training loss does (smaller held-out sets cost more than they tell).
EARLY_STOPPING_ROWS = 2_000


def _recorded(name, doc):
    """A fitted attribute that reads the fit's :class:`History`."""
    def get(self):
        check_is_fitted(self)
        return getattr(self._history, name)
    return property(get, doc=doc)


class BaseTNN(BaseEstimator, metaclass=ABCMeta):
    """Shared fitting logic of :class:`TNNClassifier` and :class:`TNNRegressor`."""

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "bond_dim": [Interval(Integral, 1, None, closed="left")],
        "n_cores": [Interval(Integral, 1, None, closed="left"), None],
        "core_dims": ["array-like", None],
        "activation": [StrOptions(set(ACTIVATIONS)), "array-like"],
        "input_projection": [StrOptions(set(PROJECTIONS))],
        "solver": [StrOptions(SOLVER_NAMES)],  # the registry's live set
        "sweep": [StrOptions(set(SWEEPS))],
        "learning_rate_init": [StrOptions({"auto"}), Interval(Real, 0, np.inf, closed="neither")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "power_t": [Interval(Real, 0, np.inf, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "alpha": [Interval(Real, 0, np.inf, closed="left")],
        "svd_cutoff": [Interval(Real, 0, 1, closed="both")],
        "tol": [Interval(Real, 0, np.inf, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "standardize": ["boolean"],
        "warm_start": ["boolean"],
        "device": [str],
        "dtype": [StrOptions(set(DTYPES))],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, hidden_layer_sizes=(64,), bond_dim=8, *, n_cores=None, core_dims=None, activation="relu",
                 input_projection="trainable", solver="dmrg", sweep="all_layers",
                 learning_rate_init="auto", learning_rate="constant", power_t=0.5, max_iter=200,
                 batch_size="auto", shuffle=True, alpha=3.0, svd_cutoff=0.0, tol=1e-3,
                 n_iter_no_change=10, early_stopping="auto", validation_fraction=0.1, standardize=True,
                 warm_start=False, device="auto", dtype="float32", random_state=None, verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.bond_dim = bond_dim
        self.n_cores = n_cores
        self.core_dims = core_dims
        self.activation = activation
        self.input_projection = input_projection
        self.solver = solver
        self.sweep = sweep
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.power_t = power_t
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

    def _validation_score(self, X, Y, weights):
        """Minus the mean loss of the network on held-out rows: the training
        objective's data term (for the regressor, on standardised targets),
        weighted as the training rows are."""
        output = torch.from_numpy(self._network_output(X))
        target = torch.from_numpy(Y).long() if Y.dtype.kind in "iu" else torch.from_numpy(np.asarray(Y, float))
        losses = LOSSES[self._loss][0](output, target)
        weights = torch.from_numpy(weights) if weights.sum() > 0 else torch.ones(len(losses), dtype=losses.dtype)
        return -float(losses @ weights) / float(weights.sum())

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
        if self.n_cores is not None and self.core_dims is not None:
            raise ValueError("give n_cores or core_dims, not both: core_dims sets the number of cores")
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
        with self._rolled_back_on_error(), limited_threads():
            X, y = validate_data(self, X, y, reset=first_fit, multi_output=self._multi_output,
                                 y_numeric=not isinstance(self, ClassifierMixin),
                                 accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32])
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if not np.any(sample_weight > 0):
                raise ValueError("sample_weight must have at least one positive weight")
            Y, n_outputs = self._encode_targets(y, first_fit, sample_weight, classes)
            # fit starts every call from random_state, as scikit-learn's
            # estimators do; partial_fit carries one generator across its calls.
            rng = self._rng if incremental and not first_fit else check_random_state(self.random_state)
            early_stopping = not incremental and (X.shape[0] > EARLY_STOPPING_ROWS if self.early_stopping == "auto"
                                                  else self.early_stopping)
            if first_fit:
                self.input_scaler_ = fit_scaler(X, sample_weight) if self.standardize else None
                self._initialize(X.shape[1], n_outputs, sizes, activations, rng, early_stopping)
            elif early_stopping:  # a warm start may begin to stop early
                self._history.start_validation()
            network = self.network_.to(resolve_device(self.device))
            objective, validation = self._objective(network, X, Y, y, sample_weight, rng, early_stopping)
            # alpha / 2 ||W||^2 over the total sample weight (the number of
            # samples when unweighted, as in sklearn's MLP): an integer weight
            # then acts like repeating the sample.
            l2 = 0.5 * self.alpha / float(objective.weights.sum())
            # Like sklearn's MLP, partial_fit keeps the optimiser's state
            # between calls and fit starts a fresh one.
            if not incremental or self._solver is None:
                self._solver = self._make_solver(network)
            batch_size = (self._solver.auto_batch_size(len(objective.X)) if self.batch_size == "auto"
                          else self.batch_size)
            stream = BatchStream(len(objective.X), batch_size, self.shuffle, rng, objective.weights.device)
            self.n_iter_ = self._run(objective, l2, stream, validation, incremental)
            self._set_diagnostics()
        return self

    def _objective(self, network, X, Y, y, sample_weight, rng, early_stopping):
        """The training objective on the device, and the held-out (X, encoded
        targets, sample weights) for early stopping (or None)."""
        param = next(network.parameters())
        validation = train = None
        if early_stopping:
            stratify = y if isinstance(self, ClassifierMixin) and not self._multilabel else None
            # The split by row numbers: the training rows of a large X are then read from it, not copied.
            train, held_out = train_test_split(np.arange(X.shape[0]), test_size=self.validation_fraction,
                                               random_state=rng, stratify=stratify)
            validation = (X[held_out], Y[held_out], sample_weight[held_out])
            Y, sample_weight = Y[train], sample_weight[train]
        X = training_rows(X, self.input_scaler_, np.dtype(self.dtype), param.device, train)
        Y = to_tensor(Y, torch.long if Y.dtype.kind == "i" else param.dtype, param.device)
        weights = to_tensor(sample_weight, param.dtype, param.device)
        return Objective(network, X, Y, weights, self._loss), validation

    def _run(self, objective, l2, stream, validation, incremental):
        """The fit loop on the solver, recording to the history; returns the iterations of this call."""
        callbacks = [record_entropies]
        if self.verbose:
            callbacks.append(ProgressBar(1 if incremental else self.max_iter, type(self).__name__))
        loop = FitLoop(self.network_, self._solver, self._history, max_iter=self.max_iter, tol=self.tol,
                       n_iter_no_change=self.n_iter_no_change, incremental=incremental, callbacks=callbacks,
                       score=None if validation is None else lambda: self._validation_score(*validation),
                       name=type(self).__name__)
        loop.run(objective, l2, stream)
        return loop.n_iter

    @contextlib.contextmanager
    def _rolled_back_on_error(self):
        """Leave the estimator as it was before a fit that raises.

        Unfitted stays unfitted (nothing half-set), and a fitted estimator
        (warm_start, partial_fit) keeps its previous model and solver state.
        """
        saved = {key: copy.deepcopy(value) if key in ("_rng", "_history") else value if key == "_solver"
                 else copy.copy(value) for key, value in vars(self).items()}
        weights = self.network_.weights() if hasattr(self, "network_") else None
        solver_state = self._solver.state_dict() if getattr(self, "_solver", None) is not None else None
        try:
            yield
        except Exception:
            vars(self).clear()
            vars(self).update(saved)
            if weights is not None:
                self.network_.load_weights(weights)
            if solver_state is not None:
                self._solver.load_state_dict(solver_state)
            raise

    def _initialize(self, n_features, n_outputs, sizes, activations, rng, early_stopping):
        widths = (first_width(n_features, sizes, self.input_projection), *sizes)
        dims = layer_dims(widths, self.n_cores, self.core_dims, self.bond_dim)
        bond_dims = [SOLVERS[self.solver].initial_bond_dim(self.bond_dim, *layer) for layer in dims]
        self.network_ = TNNetwork(n_features, n_outputs, sizes, dims, bond_dims, activations,
                                  self.input_projection, torch_generator(rng), DTYPES[self.dtype],
                                  resolve_device(self.device))
        self.n_iter_, self._history = 0, History(early_stopping)
        self._rng = rng
        self._solver = None

    def _make_solver(self, network):
        solver_class = SOLVERS[self.solver]
        lr = solver_class.default_learning_rate if self.learning_rate_init == "auto" else self.learning_rate_init
        settings = {keyword: getattr(self, parameter) for keyword, parameter in solver_class.settings.items()}
        return solver_class(network, learning_rate=lr, bond_dim=self.bond_dim, **settings)

    def _set_diagnostics(self):
        """Fitted attributes derived from the trained weights."""
        layers = self.network_.tn_layers
        self.mpos_ = [MPO([c.detach().cpu().clone() for c in layer.cores]) for layer in layers]
        self.singular_values_ = [mpo.singular_values() for mpo in self.mpos_]
        self.entanglement_entropy_ = [bond_entropies(spectra) for spectra in self.singular_values_]
        rows = self._history.entropies
        self.entanglement_history_ = [np.array([row[index] for row in rows]).reshape(len(rows), layer.n_bonds)
                                      for index, layer in enumerate(layers)]
        mpo_params = sum(mpo.n_params for mpo in self.mpos_)
        dense_params = sum(layer.in_features * layer.out_features for layer in layers)
        self.compression_ratio_ = mpo_params / dense_params
        self._warn_if_tiny(mpo_params, dense_params)

    def _warn_if_tiny(self, mpo_params, dense_params):
        """A CapacityWarning when the TN layers keep a tiny fraction of the
        dense weights and every bond reached ``bond_dim``: the network may
        underfit, and the user asked for widths, not for this compression."""
        saturated = all(bond == min(self.bond_dim, limit) < limit for mpo in self.mpos_
                        for bond, limit in zip(mpo.bond_dims, max_bond_dims(mpo.in_dims, mpo.out_dims)))
        if self.compression_ratio_ >= TINY_CAPACITY or not saturated:
            return
        larger = 4 * self.bond_dim
        weights = sum(n_params_at(mpo.in_dims, mpo.out_dims, larger) for mpo in self.mpos_)
        warnings.warn(
            f"{type(self).__name__}: the TN layers hold {mpo_params:,} weights, {self.compression_ratio_:.1%} of "
            f"the {dense_params:,} of dense layers of these widths, and every bond is at bond_dim="
            f"{self.bond_dim}: the network may be too small for the data. If it underfits, raise bond_dim "
            f"(bond_dim={larger} gives {weights:,} weights) or give the layers fewer, larger cores (core_dims).",
            CapacityWarning,
        )

    # ------------------------------------------------ MLPClassifier's attributes
    loss_curve_ = _recorded("loss_curve", "Each iteration's mean training loss, over every fit and partial_fit "
                                          "call since the first.")
    best_loss_ = _recorded("best_loss", "The least training loss of any iteration.")
    validation_scores_ = _recorded("validation_scores", "Minus each iteration's validation loss with early "
                                                        "stopping, else None.")
    best_validation_score_ = _recorded("best_validation_score", "The best validation score with early stopping, "
                                                                "else None.")

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
            weights += [layer.to_dense() for layer in network.tn_layers] + [network.output.weight.T]
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
        """Network output for a validated array (see :func:`network_output`)."""
        return network_output(self.network_, X, self.input_scaler_)

    def __getstate__(self):
        # Tensors on a GPU would not unpickle on a CPU-only machine. The
        # trainer's optimiser state is not kept: partial_fit after loading
        # starts a fresh one.
        state = self.__dict__.copy()
        if "network_" in state:
            state["network_"] = copy.deepcopy(state["network_"]).to("cpu")
            state["_solver"] = None
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags
