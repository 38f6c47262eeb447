"""Hidden layers whose weight is a tensor network.

:class:`TensorLayer` is what the network and the solvers are written
against; :class:`MPOLinear` (the MPO) is its implementation. A new layer
type (a tree tensor network, say) goes here as another subclass.
"""

from ._base import DenseWeight, TensorLayer
from ._mpo_linear import CoreChain, MPOLinear, resolve_dims

__all__ = ["CoreChain", "DenseWeight", "MPOLinear", "TensorLayer", "resolve_dims"]
