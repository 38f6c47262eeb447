"""Compress a trained torch dense layer into an MPO (Gao et al.'s use).

Trains a small torch MLP 64-256-10 on sklearn's digits, replaces its hidden
layer by MPOLinear.from_linear at several bond dimensions, and prints the
test accuracy before, right after compression, and after a short fine-tune.
Run: python examples/compress_dense_layer.py
"""

import copy

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from skltnn import MPOLinear

torch.manual_seed(0)
X, y = load_digits(return_X_y=True)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
scaler = StandardScaler().fit(X_tr)
X_tr, X_te = (torch.tensor(scaler.transform(a), dtype=torch.float32) for a in (X_tr, X_te))
y_tr, y_te = torch.tensor(y_tr), torch.tensor(y_te)


def train(model, epochs, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for idx in torch.randperm(len(X_tr)).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X_tr[idx]), y_tr[idx]).backward()
            opt.step()
    return model


def accuracy(model):
    with torch.no_grad():
        return (model(X_te).argmax(1) == y_te).float().mean().item()


dense = train(nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 10)), epochs=30, lr=1e-3)
print(f"dense 64x256 hidden layer: accuracy {accuracy(dense):.3f}, {64 * 256} weights")
for bond_dim in (2, 4, 8, 16):
    model = copy.deepcopy(dense)
    model[0] = MPOLinear.from_linear(dense[0], bond_dim=bond_dim)
    rho = model[0].mpo.compression_ratio
    before = accuracy(model)
    after = accuracy(train(model, epochs=5, lr=1e-3))
    print(f"MPO D={bond_dim:<3} rho={rho:.3f}: accuracy {before:.3f} after compression, "
          f"{after:.3f} after 5 epochs of fine-tuning")
