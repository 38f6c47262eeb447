"""MPOConv2d: exactly F.conv2d with the kernel its cores hold, by either path."""

import pickle

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skltnn import MPOConv2d

OPTIONS = [
    {"kernel_size": 3},
    {"kernel_size": (3, 2), "stride": 2, "padding": (1, 2), "dilation": (2, 1)},
    {"kernel_size": 4, "padding": "same"},  # an even kernel: torch pads one more row and column at the end
    {"kernel_size": (2, 3), "padding": "same", "dilation": 2},
    {"kernel_size": 3, "padding": "valid", "bias": False},
    {"kernel_size": 1, "stride": (1, 3)},
]


def dense_conv(layer, x):
    return F.conv2d(x, layer.kernel(), layer.bias, layer.stride, layer.padding, layer.dilation)


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("channels, bond_dim, rebuilds", [(8, 64, True), (128, 1, False)])
def test_forward_is_f_conv2d_with_the_kernel_by_either_path(options, channels, bond_dim, rebuilds):
    # Small layers rebuild the kernel; a wide one at bond dimension 1 contracts a few patches with the cores.
    torch.manual_seed(0)
    layer = MPOConv2d(channels, channels, bond_dim=bond_dim, dtype=torch.float64, **options)
    x = torch.randn(1, channels, 9, 8, dtype=torch.float64)
    expected = dense_conv(layer, x)
    assert layer.output_size(9, 8) == expected.shape[2:]
    assert layer.rebuilds_kernel(expected.shape[2] * expected.shape[3]) is rebuilds  # the path the case names
    torch.testing.assert_close(layer(x), expected)


def test_dims_that_pad_the_kernel_matrix_use_its_leading_block():
    # 3 x 3 x 3 = 27 inputs held as 28, 5 outputs as 6.
    layer = MPOConv2d(3, 5, 3, padding=1, bond_dim=2, in_dims=(7, 4), out_dims=(3, 2), dtype=torch.float64)
    assert layer.mpo_shape == (28, 6) and layer.matrix_shape == (27, 5)
    x = torch.randn(4, 3, 9, 9, dtype=torch.float64)
    for batch in (x[:1], x):
        torch.testing.assert_close(layer(batch), dense_conv(layer, batch))
    kernel = layer.mpo.to_dense()[:27, :5].T.reshape(5, 3, 3, 3)
    torch.testing.assert_close(layer.kernel(), kernel)


@pytest.mark.parametrize("options", OPTIONS)
def test_from_conv_at_full_rank_reproduces_the_layer(options):
    torch.manual_seed(1)
    conv = nn.Conv2d(6, 10, dtype=torch.float64, **options)
    layer = MPOConv2d.from_conv(conv, bond_dim=None)
    x = torch.randn(3, 6, 12, 11, dtype=torch.float64)
    torch.testing.assert_close(layer(x), conv(x))
    torch.testing.assert_close(layer.kernel(), conv.weight)


def test_from_conv_below_full_rank_is_the_tt_svd_of_the_kernel_matrix():
    torch.manual_seed(2)
    conv = nn.Conv2d(16, 32, 3, dtype=torch.float64)
    layer = MPOConv2d.from_conv(conv, bond_dim=4)
    assert layer.bond_dim == 4 and layer.n_params < conv.weight.numel()
    W = conv.weight.reshape(32, -1).T
    error = torch.linalg.norm(layer.to_dense() - W) / torch.linalg.norm(W)
    assert 0 < error < 1


def test_an_unbatched_input_gives_an_unbatched_output():
    layer = MPOConv2d(4, 6, 3, padding=1, bond_dim=3)
    x = torch.randn(4, 7, 7)
    torch.testing.assert_close(layer(x), layer(x[None])[0])


@pytest.mark.parametrize("channels, bond_dim", [(4, 2), (128, 1)])
def test_gradcheck_through_the_cores_on_both_paths(channels, bond_dim):
    layer = MPOConv2d(channels, channels, 3, stride=2, bond_dim=bond_dim, dtype=torch.float64, random_state=0)
    x = torch.randn(1, channels, 7, 6, dtype=torch.float64)
    assert layer.rebuilds_kernel(6) is (channels == 4)
    names, params = zip(*layer.named_parameters())

    def f(*params):
        return torch.func.functional_call(layer, dict(zip(names, params)), (x,))

    assert torch.autograd.gradcheck(f, params)


def test_default_init_has_nn_conv2ds_variance():
    layer = MPOConv2d(32, 32, 3, bond_dim=16, random_state=0)
    assert layer.kernel().std().item() == pytest.approx(1 / (3 * 32 * 9) ** 0.5, rel=0.05)


def test_state_dict_and_pickle_round_trip():
    layer = MPOConv2d(8, 8, 3, padding="same", bond_dim=3, random_state=0)
    x = torch.randn(2, 8, 6, 6)
    clone = pickle.loads(pickle.dumps(layer))
    torch.testing.assert_close(clone(x), layer(x))
    fresh = MPOConv2d(8, 8, 3, padding="same", bond_dim=3, random_state=1)
    fresh.load_state_dict(layer.state_dict())
    torch.testing.assert_close(fresh(x), layer(x))


@pytest.mark.parametrize("conv, message", [
    (nn.Conv2d(4, 4, 3, groups=2), "groups=2"),
    (nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"), "padding_mode='reflect'"),
])
def test_unsupported_options_are_named(conv, message):
    with pytest.raises(ValueError, match=message):
        MPOConv2d.from_conv(conv)


def test_transposed_convolutions_and_bad_input_are_clear_errors():
    with pytest.raises(TypeError, match="nn.Conv2d, got ConvTranspose2d"):
        MPOConv2d.from_conv(nn.ConvTranspose2d(4, 4, 3))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        MPOConv2d(4, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be 'valid', 'same' or ints"):
        MPOConv2d(4, 4, 3, padding="full")
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 4, H, W\)"):
        MPOConv2d(4, 4, 3)(torch.randn(2, 3, 8, 8))
    with pytest.raises(ValueError, match="bond_dim must be an integer >= 1"):
        MPOConv2d(4, 4, 3, bond_dim=0)
