"""The interface every solver implements."""

from abc import ABC, abstractmethod


class Solver(ABC):
    """Trains a :class:`~skltnn._network.TNNetwork`, one iteration at a time.

    The estimator builds the network (starting its TN layers at
    :meth:`initial_bond_dim`), makes the solver on it, then calls
    :meth:`run_iteration` until its stopping rule says stop. It keeps the
    best weights itself (``network.weights()``) and asks the solver for its
    own state alongside (:meth:`state_dict`). A solver is registered under
    its name with :func:`~skltnn._solvers.register_solver`; the estimators'
    ``solver`` parameter takes any registered name.

    A solver takes the settings every solver has, and the estimator's
    parameters that it names in :attr:`settings` (as keyword arguments of its
    own ``__init__``), no others.

    Parameters
    ----------
    network : TNNetwork
    learning_rate : float
        The estimator's ``learning_rate_init``, or
        :attr:`default_learning_rate` for 'auto'.
    bond_dim : int
        The largest bond dimension the TN layers may have.
    """

    #: The learning rate that ``learning_rate_init='auto'`` stands for.
    default_learning_rate = 0.01
    #: The mini-batch size that ``batch_size='auto'`` stands for (see :meth:`auto_batch_size`).
    default_batch_size = 200
    #: {keyword of ``__init__``: the estimator parameter it takes}, beyond
    #: ``learning_rate`` and ``bond_dim``.
    settings = {}

    def __init__(self, network, *, learning_rate, bond_dim):
        self.network = network
        self.learning_rate = learning_rate
        self.bond_dim = bond_dim

    @classmethod
    def auto_batch_size(cls, n_samples):
        """The mini-batch size of ``batch_size='auto'`` for ``n_samples`` rows."""
        return cls.default_batch_size

    @classmethod
    def initial_bond_dim(cls, bond_dim, in_dims, out_dims):
        """The bond dimension of a TN layer of cores ``in_dims``, ``out_dims`` at initialisation."""
        return bond_dim

    @abstractmethod
    def run_iteration(self, objective, l2, stream):
        """One iteration (an epoch or a sweep); returns its mean training loss.

        Parameters
        ----------
        objective : Objective
            The data term of the loss on mini-batches.
        l2 : float
            The objective adds ``l2 * sum ||W||_F^2`` over the TN layers'
            and the output layer's weights.
        stream : BatchStream
            The mini-batches, in order.

        Raises
        ------
        FloatingPointError
            When the loss is not finite.
        """

    @abstractmethod
    def reduce_step(self, factor):
        """Scale every step down by ``factor`` and forget momentum (after a divergence)."""

    def on_plateau(self):
        """No improvement for ``n_iter_no_change`` iterations: return True to
        go on (having changed something, such as a smaller step), False to stop."""
        return False

    @abstractmethod
    def bond_spectra(self):
        """Per TN layer, the singular values of each bond, after an iteration."""

    @abstractmethod
    def state_dict(self):
        """The solver's own state (optimiser moments, step sizes), detached copies."""

    @abstractmethod
    def load_state_dict(self, state):
        """Set the state back to :meth:`state_dict`'s."""
