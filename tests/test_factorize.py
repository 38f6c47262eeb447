import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skltnn import MPO, balanced_factors
from skltnn._cores import n_params_at
from skltnn._factorize import MIN_CAPACITY, default_n_cores, factorize_layer, layout_params, padded_width


@pytest.mark.parametrize(
    "n, k, expected",
    [(64, 3, (4, 4, 4)), (64, 6, (2,) * 6), (64, 2, (8, 8)), (12, 2, (4, 3)), (7, 1, (7,))],
)
def test_balanced_factors_examples(n, k, expected):
    assert balanced_factors(n, k) == expected


@given(st.integers(1, 5000), st.integers(1, 8))
def test_balanced_factors_multiply_back(n, k):
    factors = balanced_factors(n, k, allow_ones=True)
    assert len(factors) == k and math.prod(factors) == n
    assert list(factors) == sorted(factors, reverse=True)


@given(st.integers(1, 12), st.integers(1, 6))
def test_powers_of_two_split_evenly(e, k):
    factors = balanced_factors(2**e, k, allow_ones=True)
    nontrivial = [f for f in factors if f > 1]
    assert max(factors) <= 2 * min(nontrivial or [1])


def test_too_few_prime_factors_is_an_error():
    with pytest.raises(ValueError, match="7 cannot be factorised into 3 factors"):
        balanced_factors(7, 3)
    assert balanced_factors(7, 3, allow_ones=True) == (7, 1, 1)


@pytest.mark.parametrize("bad", [0, -4, 2.5, None])
def test_rejects_non_positive_or_non_integer(bad):
    with pytest.raises(ValueError, match="positive integer"):
        balanced_factors(bad, 2)
    with pytest.raises(ValueError, match="n_factors"):
        balanced_factors(8, bad)


@pytest.mark.parametrize("n_in, n_out, expected", [(64, 64, 3), (4096, 10, 6), (2, 64, 3), (7, 5, 1)])
def test_default_n_cores(n_in, n_out, expected):
    assert default_n_cores(n_in, n_out) == expected


@pytest.mark.parametrize("n, k, expected", [(97, 2, 98), (7, 2, 8), (1, 2, 4), (13, 3, 16), (64, 2, 64)])
def test_padded_width_is_the_least_with_enough_prime_factors(n, k, expected):
    assert padded_width(n, k) == expected


@given(st.integers(1, 300), st.integers(1, 300), st.sampled_from([None, 2, 3]))
def test_padding_gives_every_pair_of_widths_its_cores(n_in, n_out, n_cores):
    # Widths that factor keep their layout; the others are raised as little as gives the cores.
    in_dims, out_dims = factorize_layer(n_in, n_out, n_cores, pad=True)
    assert len(in_dims) == len(out_dims) >= (n_cores or 2)
    assert math.prod(in_dims) >= n_in and math.prod(out_dims) >= n_out
    try:
        unpadded = factorize_layer(n_in, n_out, n_cores)
    except ValueError:
        return
    if len(unpadded[0]) >= 2:
        assert (in_dims, out_dims) == unpadded


def test_prime_widths_are_padded_to_balanced_cores():
    assert factorize_layer(97, 97, pad=True) == ((7, 7, 2), (7, 7, 2))
    assert factorize_layer(13, 50, pad=True) == ((13, 1, 1), (5, 5, 2))  # 50 gives the cores: no padding
    assert factorize_layer(7, 7) == ((7,), (7,))  # a single core without padding


@pytest.mark.parametrize("width, bond_dim, n_cores", [(64, 8, 3), (1024, 8, 2), (1024, 32, 5), (256, 4, 3), (16, 1, 2)])
def test_wide_layers_get_fewer_cores_so_that_bond_dim_buys_capacity(width, bond_dim, n_cores):
    # The most cores (up to one per factor of 4) whose MPO at bond_dim keeps 1% of the dense weights.
    assert default_n_cores(width, width, bond_dim) == n_cores
    kept = layout_params(width, width, n_cores, bond_dim) / width**2
    assert kept >= MIN_CAPACITY or n_cores == 2
    if n_cores < default_n_cores(width, width):
        assert layout_params(width, width, n_cores + 1, bond_dim) < MIN_CAPACITY * width**2


@pytest.mark.parametrize("dims, bond_dim", [(((4, 4, 4), (4, 4, 4)), 8), (((32, 32), (32, 32)), 8),
                                            (((2, 3, 4), (3, 2, 2)), 3), (((5,), (7,)), 4)])
def test_layout_params_count_an_mpos_parameters(dims, bond_dim):
    assert n_params_at(*dims, bond_dim) == MPO.random(*dims, bond_dim).n_params
