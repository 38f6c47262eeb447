"""The TNN: input projection, MPO hidden layers with activations, dense output."""

import math
import numbers

import torch
from torch import nn

from ._factorize import factorize_layer
from ._layers import MPOLinear
from ._layers._base import set_parameter
from ._cores import check_dims
from ._objective import linear_logits

ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": torch.relu,
    "logistic": torch.sigmoid,  # scikit-learn's name for it
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}
# Backpropagation through an activation (in place where it can): the
# gradient times the derivative, written in terms of the activation's output
# a as scikit-learn's MLP does. ReLU's is autograd's own kernel (the gradient
# where a > 0, else 0): one pass over the data, where sign(a) and a product
# take two.
ACTIVATION_BACKWARD = {
    "identity": lambda grad, a: grad,
    "relu": lambda grad, a: torch.ops.aten.threshold_backward(grad, a, 0),
    "logistic": lambda grad, a: grad.mul_(a * (1 - a)),
    "sigmoid": lambda grad, a: grad.mul_(a * (1 - a)),
    "tanh": lambda grad, a: grad.mul_(1 - a * a),
}
PROJECTIONS = ("fixed", "trainable", "none")
# The dense parameters that the L2 penalty covers, by name.
PENALIZED = ("projection", "output.weight")


def init_std(activation, fan_in, fan_out):
    """He for ReLU, Glorot otherwise: keeps activations O(1) at initialisation."""
    if activation == "relu":
        return math.sqrt(2.0 / fan_in)
    return math.sqrt(2.0 / (fan_in + fan_out))


def random_projection(n_features, width, generator):
    """The frozen input projection: a random (n_features, width) map, drawn on the CPU in float64.

    When it widens the features, the paper's Gaussian map of variance
    ``1 / n_features`` (each output has unit variance for standardised
    features); its singular values lie within a small factor of each
    other when the width is several times the number of features (3
    features into 64: a factor of 1.6). A square or narrowing Gaussian map
    is ill-conditioned (the smallest singular value of a square one is
    about ``1 / n_features`` of the largest) and nearly loses some
    directions of the features, so there it has orthonormal columns
    (uniformly drawn), which keep every direction and the output variance.
    """
    gaussian = torch.randn(n_features, width, generator=generator, dtype=torch.float64, device="cpu")
    if n_features < width:
        return gaussian / math.sqrt(n_features)
    q, r = torch.linalg.qr(gaussian)
    return q * r.diagonal().sign()  # the sign convention that makes the draw uniform


def first_width(n_features, hidden_layer_sizes, input_projection):
    """The input width of the first TN layer: the features themselves without
    a projection, the first hidden width after a trainable one (which learns
    what to keep, as a dense first layer does), and after a frozen one the
    first hidden width or the number of features where that is larger (the
    frozen map then rotates them and loses none)."""
    if input_projection == "none":
        return n_features
    if input_projection == "trainable":
        return hidden_layer_sizes[0]
    return max(n_features, hidden_layer_sizes[0])


def layer_dims(widths, n_cores=None, core_dims=None, bond_dim=None):
    """Per-core (in_dims, out_dims) of each TN layer ``widths[l] -> widths[l+1]``:
    ``core_dims`` as given (checked against the widths), else by
    :func:`~skltnn._factorize.factorize_layer` (the rule of every MPO layer),
    padded where the widths have too few prime factors for the sweep's
    two cores or for ``n_cores``: every width trains. ``bond_dim`` gives
    wide layers fewer cores (:func:`~skltnn._factorize.default_n_cores`)."""
    n_layers = len(widths) - 1
    if core_dims is not None and len(core_dims) != n_layers:
        raise ValueError(f"core_dims must give one (in_dims, out_dims) pair per TN layer ({n_layers}), "
                         f"got {len(core_dims)}: {core_dims!r}")
    dims = []
    for index, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        try:
            dims.append(factorize_layer(n_in, n_out, n_cores, pad=True, bond_dim=bond_dim) if core_dims is None
                        else _given_dims(core_dims[index], n_in, n_out))
        except (ValueError, TypeError) as exc:
            source = "" if core_dims is None else "core_dims of "
            raise ValueError(f"{source}TN layer {index} ({n_in} -> {n_out} units): {exc}") from None
    return dims


def _given_dims(pair, n_in, n_out):
    if isinstance(pair, str) or len(pair) != 2:
        raise ValueError(f"expected a pair (in_dims, out_dims), got {pair!r}")
    return check_dims(*pair, n_in, n_out, pad=True)


class TNNetwork(nn.Module):
    """input -> projection -> [MPOLinear -> activation] * L -> Linear.

    Parameters
    ----------
    n_features, n_outputs : int
    hidden_layer_sizes : tuple of int
        Widths of the TN layers.
    dims : list of (in_dims, out_dims)
        Per-core factorisation of each TN layer, from :func:`layer_dims`.
    bond_dim : int or sequence of int
        Bond dimension of the initial MPOs, for all TN layers or one per
        layer. The DMRG sweep starts low (a product operator where that has
        full rank) and lets its SVD splits grow the bonds.
    activations : tuple of str
        One per TN layer.
    input_projection : {'fixed', 'trainable', 'none'}
        'fixed' is the paper's random non-trainable dense map
        (:func:`random_projection`) from the
        features to the first TN layer's width; 'none' feeds the features
        straight in.
    generator : torch.Generator
    dtype, device
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes, dims, bond_dim,
                 activations, input_projection, generator, dtype, device):
        super().__init__()
        self.activations = tuple(activations)
        self.input_projection = input_projection
        first = first_width(n_features, hidden_layer_sizes, input_projection)
        if input_projection != "none":
            weight = random_projection(n_features, first, generator).to(device=device, dtype=dtype)
            if input_projection == "fixed":
                self.register_buffer("projection", weight)
            else:
                self.projection = nn.Parameter(weight)
        else:
            self.projection = None
        widths = (first, *hidden_layer_sizes)
        seeds = torch.randint(2**31 - 1, (len(hidden_layer_sizes),), generator=generator, device="cpu")
        self.tn_layers = nn.ModuleList()
        bond_dims = [bond_dim] * len(dims) if isinstance(bond_dim, numbers.Integral) else bond_dim
        layers = zip(widths, widths[1:], dims, bond_dims, self.activations, seeds.tolist())
        for n_in, n_out, (in_dims, out_dims), layer_bond_dim, act, seed in layers:
            layer = MPOLinear(n_in, n_out, layer_bond_dim, in_dims=in_dims, out_dims=out_dims,
                              init_std=init_std(act, n_in, n_out), random_state=seed,
                              dtype=dtype, device=device)
            with torch.no_grad():
                layer.bias.zero_()
            self.tn_layers.append(layer)
        # Built on the meta device: torch's own initialisation would draw from its global RNG.
        self.output = nn.Linear(widths[-1], n_outputs, device="meta", dtype=dtype)
        bound = math.sqrt(6.0 / (widths[-1] + n_outputs))  # Glorot uniform, as sklearn's MLP
        for name in ("weight", "bias"):
            # Drawn on the CPU, so that a seed gives the same network on every device.
            values = torch.empty(getattr(self.output, name).shape, dtype=dtype).uniform_(-bound, bound,
                                                                                          generator=generator)
            setattr(self.output, name, nn.Parameter(values.to(device)))

    def embed(self, X):
        """The input projection (identity when there is none)."""
        return X if self.projection is None else X @ self.projection

    def forward(self, X):
        return self.forward_pass(self.embed(X))

    def forward_pass(self, Z, weights=None, first=0, last=None, inputs=None):
        """The network from TN layer ``first`` on, for that layer's input ``Z``.

        The one forward pass: inference, the backprop solvers, and a sweep's
        visit (from the visited layer on, the earlier layers' output
        computed once per batch) all go through it; differentiable unless
        called under ``torch.no_grad``.

        Parameters
        ----------
        Z : tensor (B, width)
            The input of TN layer ``first``: by default a projected batch.
        weights : dict, optional
            {TN layer index: weight} to use instead of those layers' own: any
            object whose ``affine(x, bias)`` gives ``x @ W + bias`` (see
            :class:`~skltnn._layers.TensorLayer`).
        first : int, default=0
        last : int, optional
            Stop before TN layer ``last`` and return its input.
        inputs : list, optional
            Appended with the input of every TN layer from ``first`` on, then
            that of the output layer: what :meth:`backward` needs.

        Returns
        -------
        The output (logits), or the input of TN layer ``last``.
        """
        weights = weights or {}
        for index in range(first, len(self.tn_layers) if last is None else last):
            if inputs is not None:
                inputs.append(Z)
            layer = self.tn_layers[index]
            weight = weights.get(index) or layer.weight()
            Z = ACTIVATIONS[self.activations[index]](weight.affine(Z, layer.bias))
        if last is not None:
            return Z
        if inputs is not None:
            inputs.append(Z)
        return linear_logits(Z, self.output.weight, self.output.bias)

    @torch.no_grad()
    def backward(self, inputs, grad_output, weights=None, X=None, first=0):
        """The gradients of a loss from its gradient with respect to the output.

        A hand-written backward pass: faster than autograd on small networks,
        where eager PyTorch spends more time per operation than on the
        arithmetic. It goes down to TN layer ``first``.

        Parameters
        ----------
        inputs : list of tensors
            Per TN layer, None before ``first``, then what
            :meth:`forward_pass` appended (with the same ``weights`` and ``first``).
        grad_output : tensor like the output
        weights : dict, optional
            As in :meth:`forward_pass`.
        X : tensor (B, n_features), optional
            The batch before the projection: needed for a trainable
            projection's gradient only.
        first : int, default=0

        Returns
        -------
        dense_grads : dict of str to tensor
            The gradients of ``dense_parameters(first)``, by name and in its order.
        layer_grads : list of tensors
            Per TN layer from ``first`` on (None before), the gradient with
            respect to its output before the activation (``x @ W + b``); its
            weight's gradient is ``inputs[l].T @ layer_grads[l]``.
        """
        trainable_projection = isinstance(self.projection, nn.Parameter) and first == 0
        grads = {"output.weight": grad_output.t() @ inputs[-1], "output.bias": grad_output.sum(0)}
        layer_grads = [None] * len(self.tn_layers)
        grad = grad_output @ self.output.weight
        for index in reversed(range(first, len(self.tn_layers))):
            grad = ACTIVATION_BACKWARD[self.activations[index]](grad, inputs[index + 1])
            grads[f"tn_layers.{index}.bias"] = grad.sum(0)
            layer_grads[index] = grad
            if index == first and not trainable_projection:
                break
            weight = (weights or {}).get(index) or self.tn_layers[index].weight()
            if index == first:  # 0, under a trainable projection: its gradient is X^T (g W^T)
                # (X^T g) W^T is the cheaper order where the batch has more rows than features.
                grads["projection"] = (weight.apply_transpose(X.t() @ grad) if len(X) > X.shape[1]
                                       else X.t() @ weight.apply_transpose(grad))
                break
            grad = weight.apply_transpose(grad)
        return {name: grads[name] for name in self.dense_parameters(first)}, layer_grads

    def weights(self):
        """Detached copies of every parameter, for :meth:`load_weights`."""
        return [param.detach().clone() for param in self.parameters()]

    def load_weights(self, weights):
        """Set every parameter to the values from :meth:`weights` (bond
        dimensions may have changed since)."""
        owners = [(module, name) for module in self.modules() for name, _ in module.named_parameters(recurse=False)]
        for (module, name), value in zip(owners, weights):
            set_parameter(module, name, value.clone())

    def squared_weight_norm(self):
        """Sum of ||W||_F^2 over the TN layers and :meth:`penalized_dense_parameters` (for L2)."""
        total = sum(weight.pow(2).sum() for weight in self.penalized_dense_parameters().values())
        for layer in self.tn_layers:
            total = total + layer.squared_norm()
        return total

    def dense_parameters(self, first=0):
        """{name: parameter} of the parameters outside the TN layers' weights
        that act from TN layer ``first`` on, in the order of the data's flow:
        a trainable projection (for ``first=0``), the TN layers' biases, the
        output layer. The names are the network's own
        (``named_parameters``)."""
        params = {"projection": self.projection} if first == 0 and isinstance(self.projection, nn.Parameter) else {}
        for index in range(first, len(self.tn_layers)):
            params[f"tn_layers.{index}.bias"] = self.tn_layers[index].bias
        params["output.weight"], params["output.bias"] = self.output.weight, self.output.bias
        return params

    def penalized_dense_parameters(self):
        """Those of :meth:`dense_parameters` that the L2 penalty covers: the
        weight matrices (a trainable projection, the output layer), not the biases.

        An unpenalised trainable projection would undo the penalty on the
        first TN layer: the product of the two could grow through it alone.
        """
        return {name: param for name, param in self.dense_parameters().items() if name in PENALIZED}
