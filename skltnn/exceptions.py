"""Warnings that skltnn's estimators give, besides scikit-learn's ``ConvergenceWarning``."""


class CapacityWarning(UserWarning):
    """A fitted network's TN layers are tiny and use all the bond dimension they may.

    Their MPOs hold a small fraction of the weights of dense layers of the
    same widths and every bond reached ``bond_dim``: if the fit underfits,
    raise ``bond_dim`` or give the layers fewer, larger cores. Deliberate
    compression can silence it with ``warnings.filterwarnings("ignore",
    category=CapacityWarning)``.
    """
