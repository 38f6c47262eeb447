"""Compress a trained CNN with skltnn.compress, fine-tune it, and compare it with the dense model.

A LeNet-5-style CNN is trained on sklearn's digits; ``compress`` turns its
convolutions and its fully connected layers into MPO layers holding a tenth
of their weights, and a few epochs of plain torch training recover the
accuracy. The script prints the report, the accuracy and stored bytes of
both models and their CPU latency at batch 256.
``benchmarks/bench_compress.py`` is the full comparison with low rank and
pruning at equal bytes.

    python examples/compress_model.py
"""

import time

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

from skltnn import compress


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 5, padding=2), nn.Conv2d(32, 64, 3, padding=1)
        self.fc1, self.fc2 = nn.Linear(256, 256), nn.Linear(256, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x.reshape(-1, 1, 8, 8))), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def train(model, X, y, epochs):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for index in torch.randperm(len(X)).split(64):
            optimizer.zero_grad()
            F.cross_entropy(model(X[index]), y[index]).backward()
            optimizer.step()
    return model.eval()


def evaluate(name, model, X, y):
    with torch.inference_mode():
        accuracy = (model(X).argmax(1) == y).float().mean().item()
        model(X[:256])
        start = time.perf_counter()
        for _ in range(20):
            model(X[:256])
        milliseconds = (time.perf_counter() - start) / 20 * 1e3
    kilobytes = 4 * sum(p.numel() for p in model.parameters()) / 1024
    print(f"{name:<22} test accuracy {accuracy:.3f}, {kilobytes:6.1f} KB, {milliseconds:.2f} ms per batch of 256")


def main():
    torch.manual_seed(0)
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = (torch.tensor(scaler.transform(a), dtype=torch.float32) for a in (X_tr, X_te))
    y_tr, y_te = torch.tensor(y_tr), torch.tensor(y_te)

    dense = train(CNN(), X_tr, y_tr, epochs=30)
    # The layers compress converts: Linear and Conv2d whose weight matrix (out x rest) has both sides >= 16.
    large = [m.weight for m in dense.modules() if isinstance(m, (nn.Linear, nn.Conv2d))
             and min(m.weight.shape[0], m.weight[0].numel()) >= 16]
    budget = sum(w.numel() for w in large) // 10
    small, report = compress(dense, max_params=budget, min_features=16)
    print(report, "\n")
    evaluate("dense", dense, X_te, y_te)
    evaluate("compressed", small, X_te, y_te)
    evaluate("compressed, fine-tuned", train(small.train(), X_tr, y_tr, epochs=10), X_te, y_te)


if __name__ == "__main__":
    main()
