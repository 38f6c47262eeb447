"""The seam: a new layer type is one subclass of MPOLayer and a registration.

A toy dense module (``Mix``: ``y = x @ matrix``) gets its MPO layer type here
the way MPOLinear, MPOConv2d and MPOEmbedding get theirs; compress then
converts it, and the tensor format's operations work on it unchanged.
"""

import numpy as np
import pytest
import torch
from torch import nn

from skltnn import MPOLinear, compress
from skltnn._layers import MPOLayer, mpo_layer_type, register
from skltnn._layers._registry import MPO_LAYER_TYPES

from ._reference import brute_force_spectra


class Mix(nn.Module):
    """A dense module of a type skltnn does not know: ``x @ matrix``."""

    def __init__(self, n, m):
        super().__init__()
        self.matrix = nn.Parameter(torch.randn(n, m, dtype=torch.float64))

    def forward(self, x):
        return x @ self.matrix


@pytest.fixture
def mpo_mix():
    class MPOMix(MPOLayer):
        @classmethod
        def dense_matrix(cls, mix):
            return mix.matrix

        @classmethod
        def from_module_mpo(cls, mix, mpo):
            return cls.wrap_mpo(mpo, tuple(mix.matrix.shape))

        def forward(self, x):
            return self.weight().apply(x)

    register(Mix)(MPOMix)
    yield MPOMix
    del MPO_LAYER_TYPES[Mix]


def test_compress_converts_a_registered_layer_type(mpo_mix):
    torch.manual_seed(0)
    model = nn.Sequential(Mix(48, 64), nn.Tanh(), nn.Linear(64, 40).double())
    x = torch.randn(5, 48, dtype=torch.float64)
    exact, report = compress(model, tol=0)
    assert type(exact[0]) is mpo_mix and [layer["type"] for layer in report.layers] == ["Mix", "Linear"]
    torch.testing.assert_close(exact(x), model(x))
    small, report = compress(model, bond_dim=2)
    assert small[0].bond_dim == 2 and report.layers[0]["params"] < 48 * 64


def test_an_unregistered_type_is_left_alone():
    assert mpo_layer_type(Mix(40, 40)) is None
    with pytest.warns(UserWarning, match="returned unchanged"):
        model, report = compress(nn.Sequential(Mix(40, 40)), bond_dim=2)
    assert type(model[0]) is Mix and report.layers == []


def test_the_format_operations_work_on_a_new_type(mpo_mix):
    mix = Mix(24, 30)
    layer = mpo_mix.from_module(mix, bond_dim=None, in_dims=(2, 3, 4), out_dims=(5, 3, 2))
    W = mix.matrix.detach()
    torch.testing.assert_close(layer.to_dense(), W)
    # Canonical form, the sweep's merge and split at full rank: W unchanged, the spectra exact.
    layer.canonicalize(0)
    torch.testing.assert_close(layer.to_dense(), W)
    for got, want in zip(layer.bond_spectra(center=0), brute_force_spectra(W.numpy(), (2, 3, 4), (5, 3, 2))):
        np.testing.assert_allclose(got / got.norm(), want, atol=1e-12)
    spectrum = layer.split(0, layer.merge(0), direction="right", max_rank=None, cutoff=0.0)
    torch.testing.assert_close(layer.to_dense(), W)
    np.testing.assert_allclose(spectrum / spectrum.norm(), brute_force_spectra(W.numpy(), (2, 3, 4), (5, 3, 2))[0])
    torch.testing.assert_close(layer.squared_norm(), W.square().sum())


def test_round_truncates_in_place_and_reports_the_error():
    layer = MPOLinear(64, 64, bond_dim=16, random_state=0, dtype=torch.float64)
    before = layer.to_dense()
    error = layer.round(bond_dim=2)
    assert layer.bond_dim == 2
    exact = (torch.linalg.norm(layer.to_dense() - before) / torch.linalg.norm(before)).item()
    assert error == pytest.approx(exact)
    assert layer.round(bond_dim=2) == pytest.approx(0.0, abs=1e-12)
