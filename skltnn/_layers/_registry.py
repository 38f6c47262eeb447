"""Which MPO layer type stands for which dense torch module.

A layer type registers the module it replaces with :func:`register`;
:func:`~skltnn.compress` finds layers to convert only here, so that a new
layer type is its own module plus this one decorator.
"""

MPO_LAYER_TYPES = {}


def register(dense_type):
    """Class decorator: the decorated :class:`MPOLayer` subclass stands for
    ``dense_type`` (exactly that class, not its subclasses, whose forward
    may differ)."""

    def decorate(layer_type):
        MPO_LAYER_TYPES[dense_type] = layer_type
        return layer_type

    return decorate


def mpo_layer_type(module):
    """The registered MPO layer type for ``module``, or None."""
    return MPO_LAYER_TYPES.get(type(module))
