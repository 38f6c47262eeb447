"""Compress trained torch models with skltnn.compress, against low rank and pruning.

Trains two torch MLPs on sklearn's digits (64-256-10, and 64-256-256-10 with
two large Linear layers; ``--data classification``: 3,000 rows of
``make_classification`` with 64 features and 5 classes instead), then keeps a
fraction of the weights of their large Linear layers three ways, each with the
same number of parameters per layer:

- MPO: ``skltnn.compress(model, max_params=...)``, the budget spent over
  layers and bonds where it loses least;
- low rank: each layer as two Linear layers from its truncated SVD;
- pruning: each layer's largest-magnitude weights, the others held at zero.

Each is fine-tuned for a few epochs with plain torch (Adam), and the script
prints the test accuracy right after compression and after fine-tuning
(medians, and min to max, over seeds). ``--figure PATH`` also plots accuracy
against the fraction of weights kept (needs matplotlib).

    python examples/compress_model.py [--data digits] [--seeds 3] [--epochs 10] [--figure docs/images/compression.png]
"""

import argparse
import copy

import numpy as np
import torch
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from skltnn import compress

FRACTIONS = (0.02, 0.05, 0.1, 0.2)
HIDDEN_LAYERS = ((256,), (256, 256))
METHODS = ("MPO", "low rank", "pruning")


def load(data, seed):
    """A stratified 75/25 split, standardised, as float32 tensors."""
    if data == "digits":
        X, y = load_digits(return_X_y=True)
    else:
        X, y = make_classification(3000, n_features=64, n_informative=32, n_classes=5, random_state=seed)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = (torch.tensor(scaler.transform(a), dtype=torch.float32) for a in (X_tr, X_te))
    return X_tr, X_te, torch.tensor(y_tr), torch.tensor(y_te)


def mlp(hidden, n_classes):
    layers, width = [], 64
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, n_classes))


def train(model, data, epochs, seed, after_step=None):
    X_tr, _, y_tr, _ = data
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for index in torch.randperm(len(X_tr), generator=generator).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(X_tr[index]), y_tr[index]).backward()
            optimizer.step()
            if after_step:
                after_step()
    return model


def accuracy(model, data):
    _, X_te, _, y_te = data
    with torch.no_grad():
        return (model(X_te).argmax(1) == y_te).float().mean().item()


def low_rank(model, budgets):
    """Each large Linear as Linear(in, r) -> Linear(r, out) from its SVD, r from its budget."""
    model = copy.deepcopy(model)
    for name, params in budgets.items():
        linear = model.get_submodule(name)
        rank = max(1, params // (linear.in_features + linear.out_features))
        u, s, vh = torch.linalg.svd(linear.weight.detach(), full_matrices=False)
        first, second = nn.Linear(linear.in_features, rank, bias=False), nn.Linear(rank, linear.out_features)
        with torch.no_grad():
            first.weight.copy_(s[:rank, None].sqrt() * vh[:rank])
            second.weight.copy_(u[:, :rank] * s[:rank].sqrt())
            second.bias.copy_(linear.bias)
        parent, _, attribute = name.rpartition(".")
        setattr(model.get_submodule(parent), attribute, nn.Sequential(first, second))
    return model, None


def pruned(model, budgets):
    """Each large Linear keeps its ``budget`` largest-magnitude weights; the
    returned hook zeroes the others again after every step."""
    model = copy.deepcopy(model)
    masks = {}
    for name, params in budgets.items():
        weight = model.get_submodule(name).weight
        threshold = weight.detach().abs().flatten().kthvalue(weight.numel() - params).values
        masks[name] = weight.detach().abs() > threshold
    def apply_masks():
        with torch.no_grad():
            for name, mask in masks.items():
                model.get_submodule(name).weight.mul_(mask)
    apply_masks()
    return model, apply_masks


def run(data_name, seeds, epochs):
    results = {}  # (architecture, method, fraction) -> [(before, after, params fraction)]
    for seed in range(seeds):
        data = load(data_name, seed)
        n_classes = len(data[2].unique())
        for hidden in HIDDEN_LAYERS:
            arch = "-".join(map(str, (64, *hidden, n_classes)))
            torch.manual_seed(seed)
            dense = train(mlp(hidden, n_classes), data, 30, seed)
            results.setdefault((arch, "dense", 1.0), []).append((accuracy(dense, data),) * 2 + (1.0,))
            large = {name: m for name, m in dense.named_modules()
                     if isinstance(m, nn.Linear) and min(m.in_features, m.out_features) >= 32}
            dense_params = sum(m.weight.numel() for m in large.values())
            for fraction in FRACTIONS:
                compressed, report = compress(dense, max_params=int(fraction * dense_params))
                budgets = {layer["name"]: layer["params"] for layer in report.layers}
                kept = report.params / dense_params
                for method in METHODS:
                    if method == "MPO":
                        model, hook = compressed, None
                    else:
                        model, hook = (low_rank if method == "low rank" else pruned)(dense, budgets)
                    before = accuracy(model, data)
                    after = accuracy(train(model, data, epochs, seed, hook), data)
                    results.setdefault((arch, method, fraction), []).append((before, after, kept))
    return results


def print_table(results, data_name, epochs):
    print(f"test accuracy on {data_name}: right after compression -> after {epochs} epochs of fine-tuning "
          "(median, min-max over seeds)")
    print(f"{'model':<15}{'method':<10}{'weights kept':>13}{'compressed':>22}{'fine-tuned':>22}")
    for (arch, method, fraction), values in results.items():
        before, after, kept = np.array(values).T
        cells = [f"{np.median(v):.3f} ({v.min():.3f}-{v.max():.3f})" for v in (before, after)]
        print(f"{arch:<15}{method:<10}{np.median(kept):>13.3f}{cells[0]:>22}{cells[1]:>22}")


def plot(results, data_name, epochs, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"MPO": "#0072B2", "low rank": "#E69F00", "pruning": "#009E73"}  # Okabe-Ito
    architectures = [arch for arch, method, _ in results if method == "dense"]
    denses = [np.median([after for _, after, _ in results[(arch, "dense", 1.0)]]) for arch in architectures]
    bottom = round(min(denses) - 0.2, 1)  # of the accuracy axis
    fig, axes = plt.subplots(1, len(architectures), figsize=(10, 4), sharey=True)
    for ax, arch, dense in zip(axes, architectures, denses):
        ax.axhline(dense, color="black", linestyle="--", label=f"dense ({dense:.3f})")
        ax.axhspan(dense - 0.01, dense, color="0.9", label="within 1 point of dense")
        for method in METHODS:
            values = [np.array(results[(arch, method, f)]) for f in FRACTIONS]
            kept = [np.median(v[:, 2]) for v in values]
            after = np.array([np.median(v[:, 1]) for v in values])
            low, high = (np.array([f(v[:, 1]) for v in values]) for f in (np.min, np.max))
            ax.errorbar(kept, after, yerr=[after - low, high - after], marker="o", capsize=3,
                        color=colours[method], label=f"{method} + {epochs} epochs")
        ax.set_xscale("log")
        ax.set_xticks(FRACTIONS, [f"{f:.0%}" for f in FRACTIONS])
        ax.minorticks_off()
        ax.set_xlabel("weights kept in the compressed layers")
        ax.set_title(f"MLP {arch}")
        hidden = sorted({method for method in METHODS for f in FRACTIONS
                         if np.median(np.array(results[(arch, method, f)])[:, 1]) < bottom})
        if hidden:
            ax.text(0.02, 0.02, f"below {bottom}: {', '.join(hidden)} (see the printed table)",
                    transform=ax.transAxes, fontsize=8)
    axes[0].set_ylabel("test accuracy (median, min-max bars)")
    axes[0].set_ylim(bottom, 1.0)
    axes[-1].legend(loc="lower right")
    fig.suptitle(f"{data_name}: compression of a trained model, then fine-tuning")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"figure written to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["digits", "classification"], default="digits")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--figure", help="also plot the results to this image file")
    args = parser.parse_args()
    results = run(args.data, args.seeds, args.epochs)
    print_table(results, args.data, args.epochs)
    if args.figure:
        plot(results, args.data, args.epochs, args.figure)


if __name__ == "__main__":
    main()
