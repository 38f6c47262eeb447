"""Factorising layer widths into the per-core dimensions of an MPO."""

import math
import numbers

from ._cores import n_params_at


def _prime_factors(n):
    factors, p = [], 2
    while p * p <= n:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    if n > 1:
        factors.append(n)
    return factors


def balanced_factors(n, n_factors, *, allow_ones=False):
    """Split ``n`` into ``n_factors`` integers whose product is ``n``.

    The factors are as balanced as the prime factorisation allows
    (e.g. 64 into 3 gives ``(4, 4, 4)``, 12 into 2 gives ``(4, 3)``), largest
    first.

    Parameters
    ----------
    n : int
        The width to factorise, ``n >= 1``.
    n_factors : int
        How many factors (MPO cores), ``n_factors >= 1``.
    allow_ones : bool, default=False
        If False, every factor must be at least 2 and a ``ValueError`` is
        raised when ``n`` has fewer prime factors than ``n_factors``. If True,
        missing factors are padded with 1 (a core that passes that side
        through), so any ``n`` can be split.

    Returns
    -------
    factors : tuple of int
    """
    for name, value in (("n", n), ("n_factors", n_factors)):
        if not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    primes = _prime_factors(int(n))
    if len(primes) < n_factors and not allow_ones:
        raise ValueError(
            f"{n} cannot be factorised into {n_factors} factors >= 2 "
            f"(its prime factors are {primes or [1]}); choose a width with "
            f"more prime factors or fewer cores"
        )
    factors = [1] * n_factors
    # Largest prime first onto the currently smallest factor (LPT scheduling).
    for p in sorted(primes, reverse=True):
        factors[factors.index(min(factors))] *= p
    return tuple(sorted(factors, reverse=True))


# With a bond dimension given, the default layout keeps at least this
# fraction of a dense layer's weights: wide layers get fewer, larger cores.
MIN_CAPACITY = 0.01


def default_n_cores(n_in, n_out, bond_dim=None):
    """A sensible number of cores for an ``n_in x n_out`` layer.

    About one core per factor of 4 in the larger width (64 -> 3, 4096 -> 6),
    at least 2, and no more than the larger width has prime factors. With
    ``bond_dim``, fewer cores (down to 2) while the MPO at that bond
    dimension would hold less than ``MIN_CAPACITY`` of the dense layer's
    weights: at ``bond_dim=8`` a 64 x 64 layer keeps its three cores (31%
    of the weights), a 1024 x 1024 one gets two of 32 x 32 (1.6%) instead
    of five of 4 x 4 (0.3%).
    """
    largest = max(n_in, n_out)
    n_cores = max(2, round(math.log(largest, 4))) if largest > 1 else 1
    n_cores = max(1, min(n_cores, _max_cores(n_in, n_out)))
    while bond_dim is not None and n_cores > 2 and \
            layout_params(n_in, n_out, n_cores, bond_dim) < MIN_CAPACITY * n_in * n_out:
        n_cores -= 1
    return n_cores


def layout_params(n_in, n_out, n_cores, bond_dim):
    """Parameters of an MPO of ``n_cores`` balanced cores at ``bond_dim``."""
    return n_params_at(balanced_factors(n_in, n_cores, allow_ones=True),
                       balanced_factors(n_out, n_cores, allow_ones=True), bond_dim)


def _max_cores(n_in, n_out):
    # More cores than this would have one that maps 1 input to 1 output.
    return max(len(_prime_factors(n_in)), len(_prime_factors(n_out)), 1)


def padded_width(n, n_factors):
    """The least width ``m >= n`` with at least ``n_factors`` prime factors
    (counted with multiplicity): 97 -> 98 for two factors, 13 -> 16 for three."""
    m = max(n, 2**n_factors) if n_factors else n
    while len(_prime_factors(m)) < n_factors:
        m += 1
    return m


def factorize_layer(n_in, n_out, n_cores=None, *, pad=False, bond_dim=None):
    """Per-core dimensions of an ``n_in x n_out`` MPO: ``(in_dims, out_dims)``.

    The one rule every MPO layer follows (the estimators' TN layers and
    :class:`MPOLinear` alike): ``n_cores`` cores (default
    :func:`default_n_cores`), each width split by :func:`balanced_factors`
    and padded with ones where it has fewer prime factors than cores (e.g.
    64 x 10 over 3 cores: ``(4, 4, 4)`` and ``(5, 2, 1)``).

    Widths with too few prime factors for the cores asked for (or for two
    cores, by default), such as a prime width into a prime width, give a
    single core or none. With ``pad=True`` each such width is then raised
    to :func:`padded_width` (97 x 97 becomes 98 x 98, ``(7, 7, 2)`` and
    ``(7, 7, 2)``), and the dims multiply to the padded widths: the layer
    uses the leading block of the MPO's matrix (:class:`MPOLinear`).
    ``bond_dim`` lets the default core count keep enough capacity
    (:func:`default_n_cores`).

    Raises
    ------
    ValueError
        Without ``pad``, when ``n_cores`` exceeds the prime factors of both
        widths: some core would then map a single input to a single output.
    """
    needed = 2 if n_cores is None else n_cores
    if pad and _max_cores(n_in, n_out) < needed:
        n_in, n_out = (n if len(_prime_factors(n)) >= needed else padded_width(n, needed) for n in (n_in, n_out))
    if n_cores is None:
        n_cores = default_n_cores(n_in, n_out, bond_dim)
    elif n_cores > _max_cores(n_in, n_out):
        raise ValueError(
            f"{n_in} x {n_out} cannot be split over {n_cores} cores: the widths have "
            f"{_max_cores(n_in, n_out)} prime factors at most (choose fewer cores or widths "
            f"with more prime factors, e.g. powers of 2)"
        )
    return (balanced_factors(n_in, n_cores, allow_ones=True),
            balanced_factors(n_out, n_cores, allow_ones=True))
