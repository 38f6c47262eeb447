"""compress: every large nn.Linear, nn.Conv2d and nn.Embedding of any torch model becomes its MPO layer."""

import copy
import io
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from skltnn import MPO, CompressionReport, MPOLinear, compress


class Model(nn.Module):
    """Linear layers at several depths, one shared, beside other modules and a free parameter."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        shared = nn.Linear(64, 64)
        self.body = nn.Sequential(nn.Linear(48, 64), nn.LayerNorm(64), nn.ReLU(), shared, nn.Tanh(), shared)
        self.head = nn.ModuleDict({"out": nn.Linear(64, 10), "aux": nn.Linear(64, 32, bias=False)})
        self.scale = nn.Parameter(torch.tensor(1.5))
        self.register_buffer("offset", torch.arange(10.0))

    def forward(self, x):
        h = self.body(x)
        return self.scale * self.head["out"](h) + self.offset + self.head["aux"](h).sum(1, keepdim=True)


@pytest.fixture
def model():
    return Model().double()


@pytest.fixture
def x():
    return torch.randn(20, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(1))


def test_at_full_rank_the_outputs_do_not_change(model, x):
    compressed, report = compress(model, tol=0)
    torch.testing.assert_close(compressed(x), model(x), rtol=1e-10, atol=1e-10)
    assert [layer["name"] for layer in report.layers] == ["body.0", "body.3", "head.aux"]
    assert all(layer["error"] < 1e-12 for layer in report.layers)


def test_core_dims_set_the_factorisation_of_the_layers_named(model, x):
    # A shared layer by either of its names; a padded layout (7 x 10 >= 64) too.
    dims = {"body.5": ((32, 2), (2, 32)), "head.aux": ((7, 10), (4, 8))}
    compressed, report = compress(model, tol=0, core_dims=dims)
    by_name = report.to_dict()
    assert (by_name["body.3"]["in_dims"], by_name["body.3"]["out_dims"]) == ((32, 2), (2, 32))
    assert (by_name["head.aux"]["in_dims"], by_name["head.aux"]["out_dims"]) == ((7, 10), (4, 8))
    assert by_name["body.0"]["in_dims"] == MPOLinear.default_dims(48, 64)[0]
    assert [tuple(c.shape[1:3]) for c in compressed.body[3].cores] == [(32, 2), (2, 32)]
    torch.testing.assert_close(compressed(x), model(x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("core_dims, message", [
    ({"head.out": ((2, 32), (2, 5))}, r"does not convert; the layers it converts: \['body.0', 'body.3', 'body.5', 'head.aux'\]"),
    ({"body.0": ((4, 4), (8, 8))}, r"core_dims\['body.0'\] for its 48 x 64 matrix: .*48"),
    ({"body.0": ((6, 8),)}, r"must be a pair"),
    ([(6, 8), (8, 8)], r"must be a dict"),
])
def test_core_dims_that_cannot_be_used_are_clear_errors(model, core_dims, message):
    with pytest.raises((ValueError, TypeError), match=message):
        compress(model, bond_dim=4, core_dims=core_dims)


def test_only_large_plain_linears_change_and_the_original_is_untouched(model):
    before = copy.deepcopy(model.state_dict())
    compressed, _ = compress(model, bond_dim=4)
    assert isinstance(compressed.body[0], MPOLinear) and isinstance(compressed.head["aux"], MPOLinear)
    assert type(compressed.head["out"]) is nn.Linear  # 10 outputs < min_features
    # A layer used twice stays one layer, its weights shared.
    assert compressed.body[3] is compressed.body[5] and isinstance(compressed.body[3], MPOLinear)
    torch.testing.assert_close(compressed.head["out"].weight, model.head["out"].weight)
    torch.testing.assert_close(compressed.body[1].weight, model.body[1].weight)
    assert compressed.scale.item() == 1.5 and torch.equal(compressed.offset, model.offset)
    torch.testing.assert_close(compressed.body[0].bias, model.body[0].bias)
    assert compressed.head["aux"].bias is None
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert all(isinstance(m, nn.Linear) for m in (model.body[0], model.body[3]))


def test_a_bond_cap_is_mpo_linear_from_linear(model):
    compressed, report = compress(model, bond_dim=3)
    reference = MPOLinear.from_linear(model.body[0], bond_dim=3)
    torch.testing.assert_close(compressed.body[0].to_dense(), reference.to_dense())
    assert max(max(layer["bond_dims"]) for layer in report.layers) == 3


@pytest.mark.parametrize("tol", [0.05, 0.3, 0.6])
def test_tol_bounds_each_layers_relative_error(model, tol):
    _, report = compress(model, tol=tol)
    for layer, linear in zip(report.layers, (model.body[0], model.body[3], model.head["aux"])):
        assert layer["error"] <= tol
        W = linear.weight.detach().T
        exact = MPO.from_dense(W, layer["in_dims"], layer["out_dims"], bond_dim=list(layer["bond_dims"]))
        assert layer["error"] == pytest.approx(float((exact.to_dense() - W).norm() / W.norm()), rel=1e-6)


@pytest.mark.parametrize("budget", [300, 1000, 3000, 8000])
def test_the_parameter_budget_is_honoured_and_spent(model, budget):
    compressed, report = compress(model, max_params=budget)
    cores = {id(m): sum(c.numel() for c in m.cores) for m in compressed.modules() if isinstance(m, MPOLinear)}
    assert sum(cores.values()) == report.params <= budget
    # Spent: no single bond could still grow within the budget.
    assert report.params > budget - 2 * 64 * 16
    # Looser budgets lose less.
    if budget > 300:
        _, smaller = compress(model, max_params=budget // 3)
        assert sum(l["error"] ** 2 for l in report.layers) < sum(l["error"] ** 2 for l in smaller.layers)


def test_the_budget_goes_where_it_loses_least():
    # One layer of rank 2 and one of full rank: the budget goes to the second.
    torch.manual_seed(0)
    low_rank = nn.Linear(64, 64)
    with torch.no_grad():
        low_rank.weight.copy_(MPO.random((4, 4, 4), (4, 4, 4), 2, dtype=torch.float32).to_dense().T)
    model = nn.Sequential(low_rank, nn.Linear(64, 64))
    _, report = compress(model, max_params=3000)
    first, second = report.layers
    assert max(first["bond_dims"]) == 2 and first["error"] < 1e-5
    assert second["params"] > 3 * first["params"]


def test_the_budget_does_not_move_when_a_relu_network_is_rescaled():
    # Layer 0 ten times larger and layer 2 ten times smaller compute the same
    # function; on absolute squared errors layer 0 would take the budget.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64))
    rescaled = copy.deepcopy(model)
    with torch.no_grad():
        rescaled[0].weight.mul_(10.0), rescaled[0].bias.mul_(10.0), rescaled[2].weight.mul_(0.1)
    x = torch.randn(8, 64)
    torch.testing.assert_close(rescaled(x), model(x))
    for budget in (600, 1500, 4000):
        _, report = compress(model, max_params=budget)
        _, again = compress(rescaled, max_params=budget)
        assert [layer["bond_dims"] for layer in again.layers] == [layer["bond_dims"] for layer in report.layers]
        assert min(layer["params"] for layer in report.layers) > budget / 4  # neither layer starved


def test_the_report_is_a_table_and_a_dict(model):
    _, report = compress(model, bond_dim=2)
    table = str(report)
    assert table.splitlines()[0].split() == ["layer", "shape", "bond", "dims", "params", "rho", "error"]
    assert "body.0" in table and "64x64" in table and table.splitlines()[-1].startswith("total")
    as_dict = report.to_dict()
    assert set(as_dict) == {"body.0", "body.3", "head.aux"}
    assert as_dict["body.0"]["shape"] == (48, 64) and as_dict["body.0"]["dense_params"] == 48 * 64
    assert report.rho == pytest.approx(report.params / report.dense_params)
    assert isinstance(report, CompressionReport) and "3 layers" in repr(report)


def test_state_dict_and_pickle_round_trip(model, x):
    compressed, _ = compress(model, max_params=2000)
    again, _ = compress(Model().double(), max_params=2000)  # the same shapes
    with torch.no_grad():
        for p in again.parameters():
            p.add_(1.0)
    again.load_state_dict(compressed.state_dict())
    torch.testing.assert_close(again(x), compressed(x), rtol=0, atol=0)
    restored = pickle.loads(pickle.dumps(compressed))
    torch.testing.assert_close(restored(x), compressed(x), rtol=0, atol=0)
    buffer = io.BytesIO()
    torch.save(compressed, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    torch.testing.assert_close(loaded(x), compressed(x), rtol=0, atol=0)


def test_the_compressed_model_fine_tunes_with_plain_torch(model, x):
    compressed, _ = compress(model, bond_dim=2)
    target = model(x).detach()
    optimizer = torch.optim.Adam(compressed.parameters(), lr=1e-2)
    losses = []
    for _ in range(50):
        optimizer.zero_grad()
        loss = (compressed(x) - target).square().mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("kwargs, message", [
    ({}, "give bond_dim, tol or max_params"),
    (dict(tol=0.1, max_params=100), "tol or max_params, not both"),
    (dict(tol=1.5), "tol must be a relative error"),
    (dict(tol=-0.1), "tol must be a relative error"),
    (dict(max_params=0), "max_params must be a positive integer"),
    (dict(max_params=2.5), "max_params must be a positive integer"),
    (dict(max_params=10), "max_params=10 is below the smallest MPOs"),
    (dict(bond_dim=0), "bond_dim must be an integer >= 1"),
])
def test_bad_settings_are_clear_errors(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        compress(model, **kwargs)


def test_only_modules_compress():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        compress(np.ones((3, 3)), bond_dim=2)


def test_a_layer_keeps_its_dtype_mode_and_frozen_state():
    model = nn.Sequential(nn.Linear(64, 128), nn.Linear(128, 64)).eval()
    model[0].requires_grad_(False)
    compressed, _ = compress(model, bond_dim=4)
    assert all(c.dtype == torch.float32 for c in compressed[0].cores)
    assert not compressed[0].training and not compressed.training
    assert not any(p.requires_grad for p in compressed[0].parameters())
    assert all(p.requires_grad for p in compressed[1].parameters())


def test_a_bare_linear_compresses_and_a_model_without_one_warns():
    linear = nn.Linear(64, 64)
    compressed, report = compress(linear, bond_dim=2)
    assert isinstance(compressed, MPOLinear) and report.layers[0]["name"] == ""
    with pytest.warns(UserWarning, match="both sides >= min_features=32"):
        unchanged, report = compress(nn.Sequential(nn.Linear(8, 4)), bond_dim=2)
    assert type(unchanged[0]) is nn.Linear and report.layers == []


class ConvNet(nn.Module):
    """A LeNet-style CNN and a token model's embedding, beside the layers compress leaves dense."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(500, 32, padding_idx=0)
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)  # a 25 x 6 kernel matrix: below min_features
        self.conv2 = nn.Conv2d(6, 32, 5)
        self.grouped = nn.Conv2d(32, 32, 3, padding=1, groups=2)
        self.reflect = nn.Conv2d(32, 32, 3, padding=1, padding_mode="reflect")
        self.fc = nn.Linear(32 * 2 * 2 + 32, 40)

    def forward(self, image, tokens):
        h = torch.relu(self.conv1(image))
        h = torch.nn.functional.max_pool2d(torch.relu(self.conv2(h)), 2)
        h = self.reflect(torch.relu(self.grouped(h)))
        return self.fc(torch.cat([h.flatten(1), self.embed(tokens).mean(1)], 1))


@pytest.fixture
def conv_net_inputs():
    g = torch.Generator().manual_seed(1)
    return torch.randn(3, 1, 8, 8, dtype=torch.float64, generator=g), torch.randint(0, 500, (3, 7), generator=g)


def test_a_cnn_and_an_embedding_model_are_unchanged_at_tol_0(conv_net_inputs):
    model = ConvNet().double()
    compressed, report = compress(model, tol=0)
    assert {layer["name"]: layer["type"] for layer in report.layers} == {
        "embed": "Embedding", "conv2": "Conv2d", "fc": "Linear"}
    assert (type(compressed.embed).__name__, type(compressed.conv2).__name__) == ("MPOEmbedding", "MPOConv2d")
    assert type(compressed.conv1) is nn.Conv2d
    torch.testing.assert_close(compressed(*conv_net_inputs), model(*conv_net_inputs))
    assert report.to_dict()["conv2"]["shape"] == (150, 32)


def test_core_dims_of_a_convolution_and_an_embedding_keep_them_exact_at_tol_0(conv_net_inputs):
    model = ConvNet().double()
    dims = {"conv2": ((75, 2), (2, 16)), "embed": ((10, 50), (4, 8))}
    compressed, report = compress(model, tol=0, core_dims=dims)
    assert [tuple(c.shape[1:3]) for c in compressed.conv2.cores] == [(75, 2), (2, 16)]
    assert [tuple(c.shape[1:3]) for c in compressed.embed.cores] == [(10, 4), (50, 8)]
    torch.testing.assert_close(compressed(*conv_net_inputs), model(*conv_net_inputs))


def test_layers_with_unsupported_options_are_left_dense_and_reported():
    compressed, report = compress(ConvNet(), bond_dim=2)
    assert type(compressed.grouped) is nn.Conv2d and type(compressed.reflect) is nn.Conv2d
    reasons = {layer["name"]: layer["reason"] for layer in report.skipped}
    assert "groups=2" in reasons["grouped"] and "padding_mode='reflect'" in reasons["reflect"]
    assert "left dense: grouped (Conv2d): groups=2" in str(report) and "2 left dense" in repr(report)


@pytest.mark.parametrize("budget", [3000, 8000])
def test_the_budget_covers_convolutions_and_embeddings(budget, conv_net_inputs):
    compressed, report = compress(ConvNet().double(), max_params=budget)
    assert report.params <= budget
    cores = sum(p.numel() for name, p in compressed.named_parameters() if ".cores." in name)
    assert cores == report.params
    assert torch.isfinite(compressed(*conv_net_inputs)).all()


def test_a_compressed_cnn_round_trips_through_state_dict_and_pickle(conv_net_inputs):
    compressed, _ = compress(ConvNet().double(), bond_dim=3)
    again, _ = compress(ConvNet().double(), bond_dim=3)
    with torch.no_grad():
        for p in again.parameters():
            p.add_(1.0)
    again.load_state_dict(compressed.state_dict())
    expected = compressed(*conv_net_inputs)
    torch.testing.assert_close(again(*conv_net_inputs), expected, rtol=0, atol=0)
    torch.testing.assert_close(pickle.loads(pickle.dumps(compressed))(*conv_net_inputs), expected, rtol=0, atol=0)


def test_a_budget_never_gives_a_layer_more_parameters_than_its_dense_weight():
    # A 25 x 32 kernel matrix beside large layers: before the cap the budget bought it 1.5x its weights.
    model = nn.Sequential(nn.Conv2d(1, 32, 5, padding=2), nn.Flatten(), nn.Linear(32 * 16, 256))
    _, report = compress(model, max_params=60_000, min_features=16)
    assert all(layer["params"] <= layer["dense_params"] for layer in report.layers)
    assert report.to_dict()["0"]["params"] > 32  # it still grew
