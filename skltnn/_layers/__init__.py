"""Layers whose weight is a tensor network.

:class:`TensorLayer` is what the network and the solvers are written
against; :class:`MPOLayer` is its MPO implementation (the cores and what
a sweep or a compression does to them), and each layer type (linear,
convolution, embedding) is a subclass that says how it applies its
matrix and which dense torch module it stands for (:func:`register`).
"""

from ._base import DenseWeight, TensorLayer
from ._mpo_conv import MPOConv2d
from ._mpo_embedding import MPOEmbedding, embedding_dims
from ._mpo_layer import CoreChain, MPOLayer, padded_mpo, resolve_dims
from ._mpo_linear import MPOLinear
from ._registry import mpo_layer_type, register

__all__ = ["CoreChain", "DenseWeight", "MPOConv2d", "MPOEmbedding", "MPOLayer", "MPOLinear", "TensorLayer",
           "embedding_dims", "mpo_layer_type", "padded_mpo", "register", "resolve_dims"]
