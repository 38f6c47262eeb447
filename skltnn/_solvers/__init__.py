"""Solvers: how a network's parameters are trained, chosen by name.

:class:`Solver` is the interface; ``SOLVERS`` maps the estimators'
``solver`` names to implementations. 'dmrg' is the two-site sweep
(:class:`DMRGSweeper`), 'adam' and 'sgd' global backpropagation
(:class:`AdamSolver`, :class:`SGDSolver`). A new solver goes here as another subclass,
registered with :func:`register_solver`.
"""

from ._backprop import AdamSolver, SGDSolver
from ._base import Solver
from ._sweep import DMRGSweeper

SOLVERS = {}
#: The registered names; the estimators' parameter validation reads this set.
SOLVER_NAMES = set()


def register_solver(name, solver_class):
    """Make ``solver_class`` (a :class:`Solver` subclass) available as ``solver=name``."""
    if not (isinstance(solver_class, type) and issubclass(solver_class, Solver)):
        raise TypeError(f"a solver must be a Solver subclass, got {solver_class!r}")
    SOLVERS[name] = solver_class
    SOLVER_NAMES.add(name)


register_solver("dmrg", DMRGSweeper)
register_solver("adam", AdamSolver)
register_solver("sgd", SGDSolver)

__all__ = ["SOLVERS", "SOLVER_NAMES", "AdamSolver", "DMRGSweeper", "SGDSolver", "Solver", "register_solver"]
