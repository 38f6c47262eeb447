"""Compression as deployments judge it: accuracy, stored bytes and CPU latency at equal bytes.

Five models are trained on sklearn's digits (30 epochs of Adam; a stratified
25% test split per seed): the MLPs 64-256-10 and 64-256-256-10, a
LeNet-5-style CNN for 8 x 8 images (conv 5x5 to 6 channels, pool, conv 3x3
to 16, pool, 64-120-84-10) and a wide MLP 64-1024-1024-10. Their
compressible layers (Linear and Conv2d whose weight matrix has both sides at
least 16) are then cut to a fraction of their dense stored bytes four ways,
each fine-tuned for the same 10 epochs:

- MPO: ``skltnn.compress(model, max_params=...)``; 4 bytes per core entry.
- MPO, 2 cores: the same, each layer as two cores with small middle factors,
  ``core_dims={name: ((n_in / 4, 4), (4, n_out / 4))}`` (2 where 4 does not
  divide), the layout that is cheapest to apply.
- low rank: each layer as two from its truncated SVD (a convolution as a
  k x k convolution to r channels, then a 1 x 1 one), with the MPO's bytes
  for that layer.
- pruning: each layer keeps its largest-magnitude weights (the others held
  at zero while fine-tuning), then is stored and run as a torch sparse CSR
  matrix with int32 indices: 8 bytes per kept weight plus a row pointer,
  with the MPO's bytes for that layer.

Prints per model, method and budget: the whole model's stored bytes,
the test accuracy right after compression and after fine-tuning (median and
min to max over seeds), and the CPU inference latency at batch 1 and 256
(the fastest of timed repeats, median over seeds) with its ratio to dense.

    python benchmarks/bench_compress.py [--seeds 3] [--epochs 10]

and plots accuracy and latency against bytes to docs/images/compression.png.
"""

import argparse
import copy
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _results import recorded
from _timing import fastest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from skltnn import compress

FRACTIONS = (0.02, 0.05, 0.1, 0.2)
METHODS = ("MPO", "MPO, 2 cores", "low rank", "pruning")
MIN_FEATURES = 16
BYTES = 4  # float32
FIGURE = Path(__file__).parents[1] / "docs" / "images" / "compression.png"


class CNN(nn.Module):
    """LeNet-5's layout for 8 x 8 digits: two convolutions with pooling, then
    the fully connected layers, of the given widths."""

    def __init__(self, channels=(6, 16), hidden=(120, 84)):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels[0], 5, padding=2)
        self.conv2 = nn.Conv2d(channels[0], channels[1], 3, padding=1)
        widths = (4 * channels[1], *hidden, 10)
        self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x.reshape(-1, 1, 8, 8))), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2).flatten(1)
        for layer in self.fc[:-1]:
            x = torch.relu(layer(x))
        return self.fc[-1](x)


def mlp(*hidden):
    layers, width = [], 64
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, 10))


MODELS = {
    "MLP 64-256-10": lambda: mlp(256),
    "MLP 64-256-256-10": lambda: mlp(256, 256),
    "LeNet-5 (8x8)": CNN,
    "CNN 32-64-256 (8x8)": lambda: CNN((32, 64), (256,)),
    "wide MLP 64-1024-1024-10": lambda: mlp(1024, 1024),
}


# ------------------------------------------------------------------ data, training
def load(seed):
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = (torch.tensor(scaler.transform(a), dtype=torch.float32) for a in (X_tr, X_te))
    return X_tr, X_te, torch.tensor(y_tr), torch.tensor(y_te)


def train(model, data, epochs, seed, after_step=None):
    X_tr, _, y_tr, _ = data
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(epochs):
        for index in torch.randperm(len(X_tr), generator=generator).split(64):
            optimizer.zero_grad()
            F.cross_entropy(model(X_tr[index]), y_tr[index]).backward()
            optimizer.step()
            if after_step:
                after_step()
    return model.eval()


def accuracy(model, data):
    _, X_te, _, y_te = data
    with torch.inference_mode():
        return (model(X_te).argmax(1) == y_te).float().mean().item()


# ------------------------------------------------------------------ the baselines
def matrix(layer):
    """A Linear's or Conv2d's weight as (out, in)."""
    return layer.weight.reshape(layer.weight.shape[0], -1)


def replace(model, name, module):
    parent, _, attribute = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, attribute, module)


def low_rank(model, budgets):
    """Each layer as two from its truncated SVD, of rank ``bytes // (BYTES (in + out))``."""
    model = copy.deepcopy(model)
    for name, budget in budgets.items():
        layer = model.get_submodule(name)
        W = matrix(layer).detach()
        rank = max(1, budget // (BYTES * sum(W.shape)))
        u, s, vh = torch.linalg.svd(W, full_matrices=False)
        left, right = u[:, :rank] * s[:rank].sqrt(), s[:rank, None].sqrt() * vh[:rank]
        if isinstance(layer, nn.Linear):
            first, second = nn.Linear(W.shape[1], rank, bias=False), nn.Linear(rank, W.shape[0])
        else:
            first = nn.Conv2d(layer.in_channels, rank, layer.kernel_size, layer.stride, layer.padding,
                              layer.dilation, bias=False)
            second = nn.Conv2d(rank, layer.out_channels, 1)
        with torch.no_grad():
            first.weight.copy_(right.reshape(first.weight.shape))
            second.weight.copy_(left.reshape(second.weight.shape))
            second.bias.copy_(layer.bias)
        replace(model, name, nn.Sequential(first, second))
    return model, None


def csr_bytes(nnz, rows):
    return 2 * BYTES * nnz + BYTES * (rows + 1)  # values and int32 column indices, row pointer


def pruned(model, budgets):
    """Each layer keeps the largest-magnitude weights that its budget stores
    as CSR; the returned hook zeroes the others again after each step."""
    model = copy.deepcopy(model)
    masks = {}
    for name, budget in budgets.items():
        W = matrix(model.get_submodule(name)).detach()
        keep = max(1, (budget - BYTES * (W.shape[0] + 1)) // (2 * BYTES))
        threshold = W.abs().flatten().kthvalue(W.numel() - keep).values
        masks[name] = (W.abs() > threshold).reshape(model.get_submodule(name).weight.shape)

    def apply_masks():
        with torch.no_grad():
            for name, mask in masks.items():
                model.get_submodule(name).weight.mul_(mask)

    apply_masks()
    return model, apply_masks


class SparseLinear(nn.Module):
    """A pruned Linear run as CSR: ``(W_csr @ x.T).T + b``."""

    def __init__(self, linear):
        super().__init__()
        self.weight = to_csr(linear.weight.detach())
        self.bias = linear.bias.detach()

    def forward(self, x):
        return torch.sparse.mm(self.weight, x.T).T + self.bias


class SparseConv2d(nn.Module):
    """A pruned Conv2d run as CSR on the unfolded patches."""

    def __init__(self, conv):
        super().__init__()
        self.weight = to_csr(matrix(conv).detach())
        self.bias = conv.bias.detach()
        self.options = dict(kernel_size=conv.kernel_size, dilation=conv.dilation, padding=conv.padding,
                            stride=conv.stride)
        self.out_channels = conv.out_channels

    def forward(self, x):
        n, _, h, w = x.shape
        patches = F.unfold(x, **self.options)  # (n, C_in kh kw, L)
        y = torch.sparse.mm(self.weight, patches.transpose(0, 1).reshape(patches.shape[1], -1))
        kh, kw = self.options["kernel_size"]
        (ph, pw), (sh, sw), (dh, dw) = self.options["padding"], self.options["stride"], self.options["dilation"]
        h_out, w_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        y = y.reshape(self.out_channels, n, h_out, w_out).transpose(0, 1)
        return y + self.bias[:, None, None]


def to_csr(W):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        csr = W.to_sparse_csr()
        return torch.sparse_csr_tensor(csr.crow_indices().int(), csr.col_indices().int(), csr.values(), csr.shape)


def as_sparse(model, names):
    model = copy.deepcopy(model)
    for name in names:
        layer = model.get_submodule(name)
        replace(model, name, SparseLinear(layer) if isinstance(layer, nn.Linear) else SparseConv2d(layer))
    return model


# ------------------------------------------------------------------ bytes and time
def stored_bytes(model):
    total = 0
    for tensor in [*model.parameters(), *model.buffers()]:
        total += BYTES * tensor.numel()
    for module in model.modules():
        if isinstance(module, (SparseLinear, SparseConv2d)):
            total += csr_bytes(module.weight.values().numel(), module.weight.shape[0]) + BYTES * module.bias.numel()
    return total


def latency(model, X, batch, repeats):
    """Seconds of one forward pass on ``batch`` rows: the fastest of
    ``repeats`` (the least disturbed by the rest of the machine)."""
    x = X[:batch]
    with torch.inference_mode():
        return fastest(lambda: model(x), repeats, warmup=3)


def timings(model, data):
    X = data[1].repeat(2, 1)
    return latency(model, X, 1, 300), latency(model, X, 256, 60)


# ------------------------------------------------------------------ the study
def two_cores(layers):
    """Each layer's weight matrix as two cores whose middle factors are small
    (k = 4, or 2 where 4 does not divide a side): at bond dimension D they
    hold D (n_in + n_out) parameters and x @ W costs k D (n_in + n_out)
    multiply-adds a row."""
    dims = {}
    for name, layer in layers.items():
        n_out, n_in = matrix(layer).shape
        k = next((k for k in (4, 2) if n_in % k == 0 and n_out % k == 0), None)
        if k:
            dims[name] = ((n_in // k, k), (k, n_out // k))
    return dims


def compressible(model):
    return {name: m for name, m in model.named_modules()
            if type(m) in (nn.Linear, nn.Conv2d) and min(matrix(m).shape) >= MIN_FEATURES}


def run(seeds, epochs):
    results = {}  # (model, method, fraction) -> list of dicts
    for seed in range(seeds):
        data = load(seed)
        for model_name, build in MODELS.items():
            torch.manual_seed(seed)
            dense = train(build(), data, 30, seed)
            acc = accuracy(dense, data)
            results.setdefault((model_name, "dense", 1.0), []).append(
                dict(before=acc, after=acc, bytes=stored_bytes(dense), timings=timings(dense, data)))
            layers = compressible(dense)
            dense_params = sum(m.weight.numel() for m in layers.values())
            for fraction in FRACTIONS:
                mpo, report = compress(dense, max_params=int(fraction * dense_params), min_features=MIN_FEATURES)
                budgets = {layer["name"]: BYTES * layer["params"] for layer in report.layers}
                for method in METHODS:
                    if method == "MPO":
                        model, hook = copy.deepcopy(mpo), None
                    elif method == "MPO, 2 cores":
                        try:
                            model, hook = compress(dense, max_params=int(fraction * dense_params),
                                                   min_features=MIN_FEATURES, core_dims=two_cores(layers))[0], None
                        except ValueError:  # the budget is below this layout's least (every bond at 1)
                            continue
                    else:
                        model, hook = (low_rank if method == "low rank" else pruned)(dense, budgets)
                    before = accuracy(model, data)
                    model = train(model, data, epochs, seed, hook)
                    if method == "pruning":
                        model = as_sparse(model, budgets)
                    results.setdefault((model_name, method, fraction), []).append(
                        dict(before=before, after=accuracy(model, data), bytes=stored_bytes(model),
                             timings=timings(model, data)))
            print(f"seed {seed}: {model_name} done", flush=True)
    return results


def summary(values, key):
    v = np.array([r[key] for r in values])
    return np.median(v, axis=0), v.min(axis=0), v.max(axis=0)


def print_table(results, epochs):
    print(f"\ndigits: test accuracy right after compression and after {epochs} epochs of fine-tuning (median, "
          "min-max over seeds); stored bytes of the whole model; CPU latency per forward pass (fastest of repeats, "
          "median over seeds)")
    print(f"{'model':<26}{'method':<14}{'budget':>7}{'bytes':>10}{'compressed':>22}{'fine-tuned':>22}"
          f"{'batch 1 us':>12}{'/ dense':>9}{'batch 256 ms':>14}{'/ dense':>9}")
    for (model_name, method, fraction), values in results.items():
        dense_b1, dense_b256 = summary(results[(model_name, "dense", 1.0)], "timings")[0]
        cells = []
        for key in ("before", "after"):
            median, low, high = summary(values, key)
            cells.append(f"{median:.3f} ({low:.3f}-{high:.3f})")
        b1, b256 = summary(values, "timings")[0]
        size = summary(values, "bytes")[0]
        print(f"{model_name:<26}{method:<14}{fraction:>7.0%}{size / 1024:>9.1f}K{cells[0]:>22}{cells[1]:>22}"
              f"{b1 * 1e6:>12.0f}{b1 / dense_b1:>9.2f}{b256 * 1e3:>14.3f}{b256 / dense_b256:>9.2f}")


def plot(results, epochs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    colours = {"MPO": "#0072B2", "MPO, 2 cores": "#56B4E9", "low rank": "#E69F00", "pruning": "#009E73"}  # Okabe-Ito
    fig, axes = plt.subplots(2, len(MODELS), figsize=(16, 7), sharex="col")
    for column, model_name in enumerate(MODELS):
        dense = results[(model_name, "dense", 1.0)]
        dense_acc, dense_bytes = summary(dense, "after")[0], summary(dense, "bytes")[0]
        dense_ms = summary(dense, "timings")[0][1] * 1e3
        top, bottom = axes[0, column], axes[1, column]
        top.axhline(dense_acc, color="black", linestyle="--", label=f"dense ({dense_acc:.3f})")
        top.axhspan(dense_acc - 0.01, dense_acc, color="0.9", label="within 1 point of dense")
        bottom.axhline(dense_ms, color="black", linestyle="--", label=f"dense ({dense_ms:.2f} ms)")
        for method in METHODS:
            rows = [results[(model_name, method, f)] for f in FRACTIONS if (model_name, method, f) in results]
            size = [summary(r, "bytes")[0] / dense_bytes for r in rows]
            acc = np.array([summary(r, "after") for r in rows])
            top.errorbar(size, acc[:, 0], yerr=[acc[:, 0] - acc[:, 1], acc[:, 2] - acc[:, 0]], marker="o",
                         capsize=3, color=colours[method], label=f"{method} + {epochs} epochs")
            bottom.plot(size, [summary(r, "timings")[0][1] * 1e3 for r in rows], marker="o",
                        color=colours[method], label=method)
        top.set_ylim(max(0.5, dense_acc - 0.15), 1.0)
        top.set_title(model_name)
        bottom.set_xscale("log")
        bottom.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        bottom.xaxis.set_minor_formatter(PercentFormatter(1.0, decimals=0))
        bottom.set_xlabel("stored bytes, of the dense model's")
        bottom.set_ylim(bottom=0)
    axes[0, 0].set_ylabel("test accuracy (median, min-max)")
    axes[1, 0].set_ylabel("CPU latency at batch 256 (ms)")
    axes[0, -1].legend(loc="lower right", fontsize=8)
    axes[1, -1].legend(loc="upper left", fontsize=8)
    fig.suptitle("digits: compressed to equal stored bytes, then fine-tuned")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure written to {path.relative_to(Path(__file__).parents[1])}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    with recorded():
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
        results = run(args.seeds, args.epochs)
        print_table(results, args.epochs)
        plot(results, args.epochs, FIGURE)


if __name__ == "__main__":
    main()
