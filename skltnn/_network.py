"""The TNN: input projection, MPO hidden layers with activations, dense output."""

import math

import torch
from torch import nn

from ._contract import mpo_matmul, squared_norm
from ._factorize import _prime_factors, balanced_factors, default_n_cores
from ._layers import MPOLinear

ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": torch.relu,
    "logistic": torch.sigmoid,  # scikit-learn's name for it
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}
# Backpropagation through an activation, in place: the gradient times the
# derivative, written in terms of the activation's output a as
# scikit-learn's MLP does. ReLU's derivative is sign(a), as a >= 0: on the CPU
# several times faster than a comparison and a masked fill.
ACTIVATION_BACKWARD = {
    "identity": lambda grad, a: grad,
    "relu": lambda grad, a: grad.mul_(a.sign()),
    "logistic": lambda grad, a: grad.mul_(a * (1 - a)),
    "sigmoid": lambda grad, a: grad.mul_(a * (1 - a)),
    "tanh": lambda grad, a: grad.mul_(1 - a * a),
}
PROJECTIONS = ("fixed", "trainable", "none")


def init_std(activation, fan_in, fan_out):
    """He for ReLU, Glorot otherwise: keeps activations O(1) at initialisation."""
    if activation == "relu":
        return math.sqrt(2.0 / fan_in)
    return math.sqrt(2.0 / (fan_in + fan_out))


def layer_dims(widths, n_cores=None):
    """Per-core (in_dims, out_dims) of each TN layer ``widths[l] -> widths[l+1]``.

    With ``n_cores=None`` each layer gets about one core per factor of 4 of
    its width, limited by what both widths can be split into (factors >= 2).
    An explicit ``n_cores`` must split every width into factors >= 2.
    """
    dims = []
    for index, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        if n_cores is None:
            n = min(default_n_cores(n_in, n_out), len(_prime_factors(n_in)) or 1,
                    len(_prime_factors(n_out)) or 1)
        else:
            n = n_cores
        try:
            dims.append((balanced_factors(n_in, n), balanced_factors(n_out, n)))
        except ValueError as exc:
            raise ValueError(f"TN layer {index} ({n_in} -> {n_out} units): {exc}") from None
    return dims


class TNNetwork(nn.Module):
    """input -> projection -> [MPOLinear -> activation] * L -> Linear.

    Parameters
    ----------
    n_features, n_outputs : int
    hidden_layer_sizes : tuple of int
        Widths of the TN layers.
    dims : list of (in_dims, out_dims)
        Per-core factorisation of each TN layer, from :func:`layer_dims`.
    bond_dim : int
        Bond dimension of the initial MPOs. The DMRG sweep starts from 1 (a
        product operator) and lets its SVD splits grow the bonds.
    activations : tuple of str
        One per TN layer.
    input_projection : {'fixed', 'trainable', 'none'}
        'fixed' is the paper's random non-trainable dense map from the
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
        first = n_features if input_projection == "none" else hidden_layer_sizes[0]
        if input_projection != "none":
            weight = torch.randn(n_features, first, generator=generator, dtype=torch.float64, device="cpu")
            weight = (weight / math.sqrt(n_features)).to(device=device, dtype=dtype)
            if input_projection == "fixed":
                self.register_buffer("projection", weight)
            else:
                self.projection = nn.Parameter(weight)
        else:
            self.projection = None
        widths = (first, *hidden_layer_sizes)
        seeds = torch.randint(2**31 - 1, (len(hidden_layer_sizes),), generator=generator, device="cpu")
        self.tn_layers = nn.ModuleList()
        layers = zip(widths, widths[1:], dims, self.activations, seeds.tolist())
        for n_in, n_out, (in_dims, out_dims), act, seed in layers:
            layer = MPOLinear(n_in, n_out, bond_dim, in_dims=in_dims, out_dims=out_dims,
                              init_std=init_std(act, n_in, n_out), random_state=seed,
                              dtype=dtype, device=device)
            with torch.no_grad():
                layer.bias.zero_()
            self.tn_layers.append(layer)
        self.output = nn.utils.skip_init(nn.Linear, widths[-1], n_outputs, device=device, dtype=dtype)
        bound = math.sqrt(6.0 / (widths[-1] + n_outputs))  # Glorot uniform, as sklearn's MLP
        with torch.no_grad():
            # Drawn on the CPU, so that a seed gives the same network on every device.
            for param in self.output.parameters():
                param.copy_(torch.empty(param.shape, dtype=dtype, device="cpu").uniform_(-bound, bound, generator=generator))

    def embed(self, X):
        """The input projection (identity when there is none)."""
        return X if self.projection is None else X @ self.projection

    def head(self, Z, replaced=None):
        """Everything after the projection.

        ``replaced = (layer_index, cores)`` swaps in other cores for one TN
        layer: the sweep's merged bond tensor.
        """
        for index, (layer, act) in enumerate(zip(self.tn_layers, self.activations)):
            cores = replaced[1] if replaced is not None and replaced[0] == index else None
            Z = ACTIVATIONS[act](layer(Z, cores=cores))
        return self.output(Z)

    def forward(self, X):
        return self.head(self.embed(X))

    def forward_with(self, Z, layer_index, weight):
        """The output for a projected batch ``Z``, TN layer ``layer_index``
        using the dense matrix ``weight`` (N_in, N_out) instead of its cores.

        Returns the output and the input of every TN layer followed by the
        last activation (what :meth:`backprop` needs).
        """
        with torch.no_grad():
            activations = [Z]
            for index, (layer, act) in enumerate(zip(self.tn_layers, self.activations)):
                if index == layer_index:
                    Z = torch.addmm(layer.bias, Z, weight)
                else:
                    Z = mpo_matmul(Z, [c.detach() for c in layer.cores]).add_(layer.bias)
                Z = ACTIVATIONS[act](Z)
                activations.append(Z)
            return torch.addmm(self.output.bias, Z, self.output.weight.t()), activations

    def backprop(self, X, Z, loss_and_gradient, layer_index, weight):
        """The loss and its gradients by a hand-written backward pass.

        Faster than autograd on small networks, where eager PyTorch spends
        more time per operation than on the arithmetic. TN layer
        ``layer_index`` uses the dense matrix ``weight`` instead of its cores.

        Parameters
        ----------
        X : tensor (B, n_features) or None
            The batch, needed only by a trainable projection.
        Z : tensor (B, width)
            Its projection.
        loss_and_gradient : callable(output) -> (scalar tensor, tensor like output)
        layer_index : int
        weight : tensor (N_in, N_out)

        Returns
        -------
        loss : scalar tensor
        grad_weight : tensor like ``weight``
        dense_grads : list of tensors, in the order of :meth:`dense_parameters`
        """
        trainable_projection = isinstance(self.projection, nn.Parameter)
        with torch.no_grad():
            output, activations = self.forward_with(Z, layer_index, weight)
            loss, grad = loss_and_gradient(output)
            dense_grads = [grad.t() @ activations[-1], grad.sum(0)]
            grad = grad @ self.output.weight
            grad_weight = None
            for index in reversed(range(len(self.tn_layers))):
                grad = ACTIVATION_BACKWARD[self.activations[index]](grad, activations[index + 1])
                dense_grads.insert(0, grad.sum(0))
                if index == layer_index:
                    grad_weight = activations[index].t() @ grad
                if index == 0 and not trainable_projection:
                    break
                if index == layer_index:
                    grad = grad @ weight.t()
                else:
                    grad = mpo_matmul(grad, [c.detach().transpose(1, 2) for c in self.tn_layers[index].cores])
            if trainable_projection:
                dense_grads.append(X.t() @ grad)
        return loss, grad_weight, dense_grads

    def squared_weight_norm(self):
        """Sum of ||W||_F^2 over the TN layers and the output layer (for L2)."""
        total = self.output.weight.pow(2).sum()
        for layer in self.tn_layers:
            total = total + squared_norm(list(layer.cores))
        return total

    def dense_parameters(self):
        """Parameters trained by ordinary gradient steps in the DMRG solver."""
        params = [layer.bias for layer in self.tn_layers] + list(self.output.parameters())
        if isinstance(self.projection, nn.Parameter):
            params.append(self.projection)
        return params
