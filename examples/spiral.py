"""Jahromi & Orús, Table II: three-class spiral, 600 points, one TN layer.

Trains TNNClassifier with default settings (bond_dim=8) and sklearn's
MLPClassifier on the same split, and prints accuracy, fit time, parameters
and the entanglement entropy of each bond. Run: python examples/spiral.py
"""

import time

from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from skltnn import TNNClassifier
from skltnn.datasets import make_spiral

X, y = make_spiral(n_samples=600, n_classes=3, noise=0.2, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)

models = {
    "TNNClassifier(bond_dim=8)": TNNClassifier(bond_dim=8, random_state=0),
    "MLPClassifier((64,))": MLPClassifier((64,), max_iter=3000, learning_rate_init=0.01, random_state=0),
}
print(f"{'model':<28}{'test acc':>10}{'fit (s)':>10}{'trained params':>16}")
print(f"{'paper (Table II, TNN)':<28}{0.95:>10.3f}")
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    if isinstance(model, TNNClassifier):
        params = sum(p.numel() for p in model.network_.parameters() if p.requires_grad)
    else:
        params = sum(w.size for w in model.coefs_ + model.intercepts_)
    print(f"{name:<28}{model.score(X_test, y_test):>10.3f}{seconds:>10.2f}{params:>16}")

tnn = models["TNNClassifier(bond_dim=8)"]
print(f"\nTN layer: {tnn.mpos_[0]}, {tnn.n_iter_} sweeps, compression ratio {tnn.compression_ratio_:.3f}")
print("entanglement entropy per bond:", tnn.entanglement_entropy_[0].round(3))
