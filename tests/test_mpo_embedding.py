"""MPOEmbedding: the dense table's rows, read from the cores without building it."""

import pickle

import pytest
import torch
from torch import nn

from skltnn import MPOEmbedding
from skltnn._layers import _mpo_embedding, embedding_dims


def test_lookups_are_the_rows_of_the_table_the_cores_hold():
    emb = MPOEmbedding(1000, 24, bond_dim=5, dtype=torch.float64, random_state=0)
    index = torch.tensor([[0, 999, 5], [5, 123, 0]])  # repeats, both ends
    torch.testing.assert_close(emb(index), emb.to_dense()[index])


def test_from_embedding_at_full_rank_reproduces_the_layer():
    dense = nn.Embedding(300, 16, dtype=torch.float64)
    emb = MPOEmbedding.from_embedding(dense, bond_dim=None)
    index = torch.randint(0, 300, (7, 5))
    torch.testing.assert_close(emb(index), dense(index))
    assert emb.mpo_shape[0] >= 300 and emb.matrix_shape == (300, 16)


def test_a_table_too_large_to_build_is_looked_up_and_tiny():
    # 10^9 x 64 in float32 would take 256 GB.
    emb = MPOEmbedding(10**9, 64, bond_dim=16, random_state=0)
    assert emb.n_params < 10**7
    rows = emb(torch.tensor([0, 10**9 - 1, 123_456_789]))
    assert rows.shape == (3, 64) and torch.isfinite(rows).all()


def test_a_million_rows_of_64_fit_in_under_five_percent_of_the_dense_table():
    emb = MPOEmbedding(10**6, 64, bond_dim=32)
    assert emb.n_params < 0.05 * 64 * 10**6


def test_gradients_reach_only_the_slices_of_the_used_digits():
    emb = MPOEmbedding(1000, 8, bond_dim=3, in_dims=(10, 10, 10), out_dims=(2, 2, 2), random_state=0)
    used = torch.tensor([123, 456, 123])
    emb(used).pow(2).sum().backward()
    digits = [{1, 4}, {2, 5}, {3, 6}]
    for core, seen in zip(emb.cores, digits):
        touched = {d for d in range(10) if core.grad[:, d].abs().sum() > 0}
        assert touched == seen


def test_the_padding_row_is_fixed_and_gets_no_gradient():
    emb = MPOEmbedding(50, 8, padding_idx=-1, random_state=0)
    assert emb.padding_idx == 49
    out = emb(torch.tensor([49, 49]))
    assert torch.equal(out, torch.zeros(2, 8))
    out.sum().backward()
    assert all(core.grad is None or not core.grad.any() for core in emb.cores)
    dense = nn.Embedding(50, 8, padding_idx=3)
    with torch.no_grad():
        dense.weight[3] = 7.0  # a pad row the user set
    torch.testing.assert_close(MPOEmbedding.from_embedding(dense, 2)(torch.tensor([3]))[0], torch.full((8,), 7.0))


def test_the_default_dims_are_equal_digits_of_the_rows():
    assert embedding_dims(10**6, 64) == ((100, 100, 100), (4, 4, 4))
    assert embedding_dims(50257, 768) == ((37, 37, 37), (12, 8, 8))
    assert embedding_dims(30, 8) == ((6, 6), (4, 2))
    for rows in (2, 63, 64, 65, 999, 1001, 10**9):
        in_dims, _ = embedding_dims(rows, 4)
        radix = in_dims[0]
        assert radix ** len(in_dims) >= rows > (radix - 1) ** len(in_dims) or radix == 2


def test_state_dict_and_pickle_round_trip():
    emb = MPOEmbedding(100, 8, padding_idx=0, bond_dim=3, random_state=0)
    index = torch.tensor([0, 5, 99])
    torch.testing.assert_close(pickle.loads(pickle.dumps(emb))(index), emb(index))
    fresh = MPOEmbedding(100, 8, padding_idx=0, bond_dim=3, random_state=1)
    fresh.load_state_dict(emb.state_dict())
    torch.testing.assert_close(fresh(index), emb(index))


def test_bad_indices_raise_as_nn_embedding_does():
    emb = MPOEmbedding(10, 4)
    for bad in ([10], [-1], [0, 11]):
        with pytest.raises(IndexError, match="out of range for an embedding of 10 rows"):
            emb(torch.tensor(bad))
    with pytest.raises(TypeError, match="integer indices"):
        emb(torch.tensor([1.0]))
    assert emb(torch.zeros(0, 3, dtype=torch.long)).shape == (0, 3, 4)


@pytest.mark.parametrize("kwargs, message", [
    ({"max_norm": 1.0}, "max_norm=1.0"),
    ({"scale_grad_by_freq": True}, "scale_grad_by_freq=True"),
    ({"sparse": True}, "sparse=True"),
])
def test_unsupported_options_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MPOEmbedding.from_embedding(nn.Embedding(10, 4, **kwargs))


def test_bad_settings_are_clear_errors():
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        MPOEmbedding(10, 4, padding_idx=10)
    with pytest.raises(ValueError, match="multiply to 9, not to at least the width 10"):
        MPOEmbedding(10, 4, in_dims=(3, 3), out_dims=(2, 2))
    with pytest.raises(TypeError, match="nn.Embedding, got Linear"):
        MPOEmbedding.from_embedding(nn.Linear(3, 3))


def test_a_lookup_in_parts_gives_the_same_rows(monkeypatch):
    # Lookups gather at most LOOKUP_ENTRIES slice entries at a time: here a few rows per part.
    emb = MPOEmbedding(1000, 24, bond_dim=5, dtype=torch.float64, random_state=0)
    index = torch.randint(0, 1000, (50,))
    monkeypatch.setattr(_mpo_embedding, "LOOKUP_ENTRIES", 64)
    torch.testing.assert_close(emb(index), emb.to_dense()[index])
