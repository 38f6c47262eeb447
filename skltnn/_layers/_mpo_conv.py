"""``MPOConv2d``: a drop-in for ``torch.nn.Conv2d`` whose kernel is an MPO."""

import math

import torch.nn.functional as F
from torch import nn
from torch.nn.modules.utils import _pair

from .._contract import MEMORY_COST, contraction_plan, cores_to_dense, group_cost, plan_cost
from .._cores import torch_generator
from ._mpo_layer import MPOLayer
from ._registry import register


def _paddings(padding, kernel_size, dilation):
    """(left, right, top, bottom) zero padding for ``padding`` as ``nn.Conv2d``
    takes it: ints, or 'valid' / 'same' (whose extra row and column, for an
    even receptive field, go right and bottom, as torch puts them)."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        (top, left) = (t // 2 for t in totals)
        return left, totals[1] - left, top, totals[0] - top
    ph, pw = _pair(padding)
    return pw, pw, ph, ph


@register(nn.Conv2d)
class MPOConv2d(MPOLayer):
    """2-D convolution whose kernel is held as an MPO (Gao et al.'s MPO-Net).

    A drop-in for ``torch.nn.Conv2d`` with ``groups=1`` and zero padding:
    same arguments, same input and output shapes (batched or not), same
    output for the same kernel. The kernel (C_out, C_in, kh, kw), seen as
    the matrix W of shape (C_in kh kw, C_out) that multiplies unfolded
    patches, is an MPO. The forward pass chooses by the linear layer's cost
    model (:func:`~skltnn._contract.contraction_plan`, for the batch's
    patches as rows) between rebuilding the kernel for ``F.conv2d`` and
    contracting the unfolded input with the cores, which never builds it.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding, dilation : int or pair, as ``nn.Conv2d``
        ``padding`` may also be 'valid' or 'same'.
    bond_dim : int, default=8
        Maximum bond dimension of the MPO.
    in_dims, out_dims : sequence of int, optional
        Per-core factorisations of C_in kh kw and C_out (C-order: channel
        first, then kernel row and column), multiplying to at least them.
        Default as :class:`MPOLinear`'s.
    bias : bool, default=True
    init_std : float, optional
        Standard deviation of the kernel's entries. Default
        ``1 / sqrt(3 C_in kh kw)``, the variance of ``nn.Conv2d``'s default.
    random_state : int, RandomState, torch.Generator or None
    device, dtype

    Attributes
    ----------
    cores : torch.nn.ParameterList
    bias : torch.nn.Parameter or None
    matrix_shape : tuple of int
        (C_in kh kw, C_out).

    Examples
    --------
    >>> import torch
    >>> from skltnn import MPOConv2d
    >>> conv = MPOConv2d(16, 32, 3, padding=1, bond_dim=4)
    >>> conv(torch.randn(8, 16, 28, 28)).shape
    torch.Size([8, 32, 28, 28])
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, *, bond_dim=8,
                 in_dims=None, out_dims=None, bias=True, init_std=None, random_state=None, device=None,
                 dtype=None):
        super().__init__()
        self._set_options(in_channels, out_channels, kernel_size, stride, padding, dilation)
        fan_in = self.matrix_shape[0]
        std = 1.0 / math.sqrt(3 * fan_in) if init_std is None else init_std
        generator = torch_generator(random_state)
        self._init_cores(self.matrix_shape, bond_dim, in_dims, out_dims, std, generator, dtype, device)
        self._set_bias(bias, out_channels, generator, fan_in, self.cores[0].dtype, device)

    def _set_options(self, in_channels, out_channels, kernel_size, stride, padding, dilation):
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.dilation = _pair(kernel_size), _pair(stride), _pair(dilation)
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"padding must be 'valid', 'same' or ints, got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions (as in nn.Conv2d)")
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        self._pads = _paddings(self.padding, self.kernel_size, self.dilation)
        self.matrix_shape = (self.in_channels * math.prod(self.kernel_size), self.out_channels)

    # ------------------------------------------------------------- conversion
    @classmethod
    def from_conv(cls, conv, bond_dim=8, *, in_dims=None, out_dims=None, cutoff=0.0):
        """Compress a trained ``nn.Conv2d`` by TT-SVD of its kernel matrix.

        Parameters
        ----------
        conv : torch.nn.Conv2d
            With ``groups=1`` and ``padding_mode='zeros'``.
        bond_dim : int or None, default=8
            None keeps every singular value (exact).
        in_dims, out_dims : sequence of int, optional
        cutoff : float, default=0.0
            Relative singular-value cutoff, as in :meth:`MPO.from_dense`.

        Returns
        -------
        MPOConv2d

        Raises
        ------
        ValueError
            For options the MPO kernel does not support, named.
        """
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"from_conv takes an nn.Conv2d, got {type(conv).__name__}")
        return cls.from_module(conv, bond_dim, in_dims=in_dims, out_dims=out_dims, cutoff=cutoff)

    @classmethod
    def unsupported(cls, conv):
        if conv.groups != 1:
            return f"groups={conv.groups} (grouped and depthwise convolutions are not supported; groups must be 1)"
        if conv.padding_mode != "zeros":
            return f"padding_mode={conv.padding_mode!r} (only 'zeros' is supported)"
        return None

    @classmethod
    def dense_matrix(cls, conv):
        return conv.weight.reshape(conv.out_channels, -1).T

    @classmethod
    def from_module_mpo(cls, conv, mpo):
        layer = cls.wrap_mpo(mpo)
        layer._set_options(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                           conv.dilation)
        layer._set_bias(conv.bias, conv.out_channels)
        return layer

    # ---------------------------------------------------------------- forward
    def kernel(self):
        """The dense kernel (C_out, C_in, kh, kw), differentiable in the cores."""
        rows, cols = self.matrix_shape
        dense = cores_to_dense(list(self.cores))[:rows, :cols]
        return dense.T.reshape(self.out_channels, self.in_channels, *self.kernel_size)

    def rebuilds_kernel(self, rows):
        """Whether the forward pass for ``rows`` patches (batch x H_out x
        W_out) rebuilds the kernel for ``F.conv2d``: when that is cheaper, by
        the linear layer's cost model, than contracting the unfolded patches
        (their copy counted too) with the cores."""
        shapes = tuple(tuple(c.shape) for c in self.cores)
        plan = contraction_plan(shapes, rows)
        if plan == ((0, len(shapes)),):
            return True
        rebuild = group_cost(shapes, 0, len(shapes), rows)
        if rebuild is None:  # the kernel would be too large to build
            return False
        macs, elements = plan_cost(shapes, rows, plan)
        unfolded = rows * self.mpo_shape[0]
        return rebuild[0] + MEMORY_COST * rebuild[1] <= macs + MEMORY_COST * (elements + unfolded)

    def output_size(self, height, width):
        """(H_out, W_out) for an input of ``height`` x ``width``."""
        left, right, top, bottom = self._pads
        return tuple((size + before + after - d * (k - 1) - 1) // s + 1
                     for size, before, after, k, s, d in zip((height, width), (top, left), (bottom, right),
                                                             self.kernel_size, self.stride, self.dilation))

    def forward(self, x):
        unbatched = x.ndim == 3
        if unbatched:
            x = x.unsqueeze(0)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected input of shape (N, {self.in_channels}, H, W) or ({self.in_channels}, H, "
                             f"W), got {tuple(x.shape) if not unbatched else tuple(x.shape[1:])}")
        h_out, w_out = self.output_size(x.shape[2], x.shape[3])
        left, right, top, bottom = self._pads
        padding = (top, left)
        if (left, top) != (right, bottom):  # 'same' with an even receptive field
            x, padding = F.pad(x, self._pads), (0, 0)
        rows = x.shape[0] * h_out * w_out
        if self.rebuilds_kernel(rows):
            y = F.conv2d(x, self.kernel(), self.bias, self.stride, padding, self.dilation)
        else:
            patches = F.unfold(x, self.kernel_size, self.dilation, padding, self.stride)
            flat = patches.transpose(1, 2).reshape(rows, self.matrix_shape[0])
            y = self.weight().apply(flat).reshape(x.shape[0], h_out * w_out, self.out_channels).transpose(1, 2)
            y = y.reshape(x.shape[0], self.out_channels, h_out, w_out)
            if self.bias is not None:
                y = y + self.bias[:, None, None]
        return y.squeeze(0) if unbatched else y

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, {self._dims_repr()}, "
                f"bias={self.bias is not None}")
