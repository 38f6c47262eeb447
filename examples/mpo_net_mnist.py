"""Gao et al.'s LeNet-5 MPO-Net on MNIST, trained from scratch against the dense LeNet-5.

LeNet-5 as Gao et al. use it (their Table III): a 5 x 5 convolution to 6
channels (padding 2), pooling, a 5 x 5 convolution to 16, pooling, a 5 x 5
convolution to 120 (a 400 x 120 kernel matrix), then 120 -> 84 -> 10. The
MPO-Net holds the last three layers as MPOs of Gao's shapes (Sec. IV A 2):
400 x 120 as (2, 10, 10, 2) x (2, 5, 6, 2) at bond dimension 4, 120 x 84 as
(2, 5, 6, 2) x (2, 3, 7, 2) at 4, and 84 x 10 as (2, 3, 7, 2) x (1, 5, 2, 1) at
2 -- about 5% of those layers' weights. Both networks are trained the same
way (Adam, mini-batches of 128) and the script prints their test accuracy
and parameters. Gao et al. report 99.17 +- 0.04% dense and 99.17 +- 0.08%
for the MPO-Net.

MNIST comes from OpenML (``fetch_openml``: online once, then cached by
scikit-learn). The GPU is used when there is one::

    python examples/mpo_net_mnist.py [--epochs 10]

Offline, on a slice of scikit-learn's digits upsampled to 28 x 28 (a check
that the script runs, not a result)::

    python examples/mpo_net_mnist.py --data digits --rows 300 --epochs 1
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import fetch_openml, load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from skltnn import MPOConv2d, MPOLinear


class LeNet5(nn.Module):
    def __init__(self, mpo=False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        if mpo:
            self.conv3 = MPOConv2d(16, 120, 5, bond_dim=4, in_dims=(2, 10, 10, 2), out_dims=(2, 5, 6, 2))
            self.fc1 = MPOLinear(120, 84, bond_dim=4, in_dims=(2, 5, 6, 2), out_dims=(2, 3, 7, 2))
            self.fc2 = MPOLinear(84, 10, bond_dim=2, in_dims=(2, 3, 7, 2), out_dims=(1, 5, 2, 1))
        else:
            self.conv3, self.fc1, self.fc2 = nn.Conv2d(16, 120, 5), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.conv3(x)).flatten(1)
        return self.fc2(torch.relu(self.fc1(x)))


def load(data, rows):
    """Images (N, 1, 28, 28) in [0, 1] and labels, as train and test tensors."""
    if data == "mnist":
        X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False, parser="auto")
        X, y = X.reshape(-1, 1, 28, 28) / 255.0, y.astype(np.int64)
        split = (X[:60_000], X[60_000:], y[:60_000], y[60_000:])
    else:
        X, y = load_digits(return_X_y=True)
        X = F.interpolate(torch.tensor(X.reshape(-1, 1, 8, 8) / 16.0), size=(28, 28), mode="bilinear").numpy()
        split = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    X_tr, X_te, y_tr, y_te = split
    if rows:
        X_tr, y_tr = X_tr[:rows], y_tr[:rows]
    return [torch.tensor(a, dtype=torch.float32 if a.ndim > 1 else torch.int64) for a in (X_tr, X_te, y_tr, y_te)]


def fit(model, X, y, epochs, device, seed):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(epochs):
        for index in torch.randperm(len(X), generator=generator).split(128):
            optimizer.zero_grad()
            F.cross_entropy(model(X[index].to(device)), y[index].to(device)).backward()
            optimizer.step()
    return model.eval()


def accuracy(model, X, y, device):
    with torch.inference_mode():
        predictions = torch.cat([model(batch.to(device)).argmax(1).cpu() for batch in X.split(1000)])
    return (predictions == y).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=["mnist", "digits"], default="mnist")
    parser.add_argument("--rows", type=int, help="train on the first ROWS training images only")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    X_tr, X_te, y_tr, y_te = load(args.data, args.rows)
    print(f"{args.data}: {len(X_tr)} training and {len(X_te)} test images, {args.epochs} epochs on {device}")
    dense_weights = None
    for name, mpo in (("LeNet-5", False), ("LeNet-5 MPO-Net", True)):
        torch.manual_seed(args.seed)
        model = LeNet5(mpo).to(device)
        start = time.perf_counter()
        fit(model, X_tr, y_tr, args.epochs, device, args.seed)
        seconds = time.perf_counter() - start
        # The weights of the three layers the MPO-Net holds as MPOs (biases apart).
        weights = sum(p.numel() for layer in (model.conv3, model.fc1, model.fc2)
                      for n, p in layer.named_parameters() if n != "bias")
        dense_weights = dense_weights or weights
        print(f"{name:<16} test accuracy {accuracy(model, X_te, y_te, device):.4f}  "
              f"weights of the last three layers {weights:>6,} (rho {weights / dense_weights:.3f})  "
              f"fit {seconds:.0f} s")


if __name__ == "__main__":
    main()
