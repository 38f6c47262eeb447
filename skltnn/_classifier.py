"""TNNClassifier: a tensor neural network for classification."""

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseTNN


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
        Width of each TN layer: any positive width, as for
        ``MLPClassifier``. A layer between widths with too few prime
        factors for its cores (a prime into a prime, such as 97 -> 97) is
        padded: its MPO is of the next widths that factor (98 x 98), and
        the layer uses that matrix's leading block.
    bond_dim : int, default=8
        Maximum bond dimension of every MPO.
    n_cores : int, optional
        Cores per TN layer. Default: about one core per factor of 4 of the
        larger width, at least two. Each width is split into balanced
        factors, padded with ones where it has fewer prime factors (as
        :class:`MPOLinear`); a layer whose widths have too few prime factors
        for ``n_cores`` is padded as above.
    core_dims : list of (in_dims, out_dims), optional
        The per-core dimensions of each TN layer, one pair per layer, in
        place of ``n_cores``' balanced split: ``in_dims`` multiply to the
        layer's input width (for the first, the larger of
        ``hidden_layer_sizes[0]`` and the number of features, or the number
        of features with ``input_projection='none'``), ``out_dims`` to its
        output width, or to more (the layer is then padded). The layer is
        applied to a batch core by core, first to last, so large input
        factors first and large output factors last make wide layers cheap:
        ``[((128, 8), (8, 128))] * 2`` for ``hidden_layer_sizes=(1024,
        1024)`` costs ``2 * 1024 * 8 * bond_dim`` multiply-adds per row and
        layer, against ``2 * 1024 * 32 * bond_dim`` for the balanced
        ``((32, 32), (32, 32))`` (see the performance guide).
    activation : {'relu', 'logistic', 'tanh', 'identity'} or tuple, default='relu'
        One for all TN layers, or one per TN layer. 'sigmoid' is another
        name for 'logistic'.
    input_projection : {'trainable', 'fixed', 'none'}, default='trainable'
        Dense map from the features to the first TN layer's input: a random
        start (the paper's Gaussian map into ``hidden_layer_sizes[0]``
        units) trained with the cores and under the same ``alpha``, as a
        dense first layer; the same map frozen (the paper's choice; with
        more features than ``hidden_layer_sizes[0]``, a random rotation of
        all of them into a first TN layer as wide, which loses no
        direction); or none (the features feed the first TN layer
        directly). A trained map lets a narrow MPO use a dense first
        layer's worth of input directions: on a ``(1024, 1024)`` network at
        ``bond_dim=8`` it is what brings the fit within reach of the MLP.
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
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Schedule of the step size, used only with ``solver='sgd'`` (as in
        scikit-learn's MLP: the sweep's line search and Adam size their
        steps themselves). 'invscaling' sets it after each epoch to
        ``learning_rate_init / (t + 1) ** power_t``, t the samples seen;
        'adaptive' keeps it until ``n_iter_no_change`` epochs fail to
        improve by ``tol``, then divides it by 5 instead of stopping, and
        stops when it falls below 1e-6.
    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.
    max_iter : int, default=200
        Maximum iterations: one back-and-forth sweep over every bond for
        'dmrg', one epoch for 'adam' and 'sgd'.
    batch_size : int or 'auto', default='auto'
        Largest mini-batch; an epoch's batches differ in size by at most
        one. 'auto' is, for 'dmrg', the whole training set up to 10,000 rows
        (the paper's full batch: each step's line search then works on the
        objective itself) and batches of 1000 beyond, and ``min(200,
        n_samples)`` for 'adam' and 'sgd', as scikit-learn's MLP. The sweep
        takes one gradient step per mini-batch, and its bond visits share
        whole epochs out in turn, as few as give every visit at least two
        batches (or the whole epoch when it has fewer): on large data a
        sweep is one pass over the data. The working memory of a step grows
        with the batch, not with n_samples.
    shuffle : bool, default=True
        Reshuffle the samples at every epoch.
    alpha : float, default=3.0
        L2 penalty ``alpha / 2 * sum ||W||_F^2 / sum(sample_weight)`` over
        the TN, output and trainable projection weights (computed exactly
        from the cores), as scikit-learn's MLP defines it. Its default is
        far stronger than the MLP's 1e-4: the sweep trains to convergence,
        where the MLP's default relies on stopping early, and on small
        noisy tables an unpenalised fit overfits (see the user guide). Its
        weight falls as the data grow.
    svd_cutoff : float, default=0.0
        Drop singular values below this fraction of the largest at each
        split, so bond dimensions can shrink below ``bond_dim``.
    tol : float, default=1e-3
        Minimum improvement of the loss that counts. The loss is that of
        the standardised targets with ``standardize=True``, so ``tol`` does
        not depend on their units. An iteration of the sweep takes several
        full-batch steps where an epoch of the MLP takes many small ones,
        hence a coarser default than the MLP's 1e-4. With early stopping
        any new best of the validation loss counts, as in
        ``HistGradientBoostingClassifier`` (whose ``tol`` is 1e-7): the
        held-out rows decide how long to train.
    n_iter_no_change : int, default=10
        Stop after this many iterations without improvement of ``tol`` (with
        early stopping, without a new least validation loss).
    early_stopping : bool or 'auto', default='auto'
        Hold out ``validation_fraction`` of the data, stop on its loss (the
        training objective's data term on the held-out rows, as
        ``HistGradientBoostingClassifier``'s ``scoring='loss'``) and keep
        the best weights. 'auto' does so for more than 2,000 samples: there
        a held-out tenth of 200 rows or more judges how long to train
        better than the training loss and ``tol`` do, which on smaller sets
        stop the fit early enough to act as a regulariser.
    validation_fraction : float, default=0.1
    standardize : bool, default=True
        Centre and scale each feature by its (sample-weighted) mean and
        standard deviation before the network sees it (constant features
        are only centred), then clip it smoothly to 3 standard deviations,
        ``z / sqrt(1 + (z / 3)^2)``: the heavy tails of real features
        (incomes, counts, prices) no longer dominate the fit. The regressor
        also standardises each target (without clipping) and maps its
        predictions back. The statistics come from the first call of
        ``fit`` or ``partial_fit`` and are kept by ``warm_start``, so the
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
        Iterations run by the last call to ``fit`` (1 after ``partial_fit``),
        as in scikit-learn's MLP: each ``fit``, ``warm_start`` included, runs
        up to ``max_iter`` of them.
    loss_curve_ : list of float
        Mean training loss of each iteration since the first fit (NaN for an
        iteration that diverged and was undone).
    best_loss_ : float
    validation_scores_ : list of float or None
        Minus the validation loss (log-loss) of each iteration with
        ``early_stopping``, else None.
    best_validation_score_ : float or None
    network_ : torch.nn.Module
        The trained network.
    mpos_ : list of MPO
        The trained weight of each TN layer. A layer between widths with too
        few prime factors for its cores (a prime width into a prime width,
        say 97 -> 97) is padded: its MPO is of the next widths that factor
        (98 x 98) and the layer uses the MPO matrix's leading block.
    singular_values_ : list of list of ndarray
        Per TN layer, the normalised spectrum of each bond of ``mpos_``.
    entanglement_entropy_ : list of ndarray
        Per TN layer, the entanglement entropy of each bond of ``mpos_``.
    entanglement_history_ : list of ndarray
        Per TN layer, shape (len(loss_curve_), n_bonds): entropies after each
        iteration (the paper's Figs. 12 and 14).
    compression_ratio_ : float
        MPO parameters of the TN layers over those of equal dense layers.
    loss_ : float
        The last iteration's training loss.
    coefs_ : list of ndarray
        As ``MLPClassifier.coefs_``, built on access: the weight matrix
        (n_in, n_out) of the input projection (if any), of each TN layer (its
        MPO contracted to a dense matrix) and of the output layer. They act
        on the standardised and clipped features (``input_scaler_``, then
        ``z / sqrt(1 + (z / 3)^2)``); the projection has no activation.
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
