"""Gao et al. (MPO-Net) on sklearn's digits: accuracy against compression ratio.

Compares a dense MLP 64-64-10 with the same network whose hidden weight is an
MPO (3 cores of 4 x 4), trained by global Adam (MPO-Net) or by the DMRG-like
sweep, over bond dimensions; prints test accuracy (mean ± std over seeds)
and the compression ratio rho of the hidden layer. As in the paper, every
network has the same L2 penalty: without it the sweep's nearly separable
weights generalise worse (docs/reproduction.md).
Run: python examples/digits_compression.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier

X, y = load_digits(return_X_y=True)
seeds = range(3)
alpha = 0.3


def accuracy(make):
    scores = []
    for seed in seeds:
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
        model = make_pipeline(StandardScaler(), make(seed)).fit(X_tr, y_tr)
        scores.append(model.score(X_te, y_te))
    return np.mean(scores), np.std(scores), model[-1]


mean, std, _ = accuracy(lambda seed: MLPClassifier((64,), alpha=alpha, max_iter=500, random_state=seed))
print(f"{'dense MLP':<22} rho=1.000  accuracy {mean:.3f} ± {std:.3f}")
for solver in ("adam", "dmrg"):
    for bond_dim in (1, 2, 4, 8):
        mean, std, tnn = accuracy(lambda seed: TNNClassifier(
            hidden_layer_sizes=(64,), bond_dim=bond_dim, input_projection="none", solver=solver,
            alpha=alpha, max_iter=500, random_state=seed))
        label = f"{'MPO-Net (adam)' if solver == 'adam' else 'DMRG sweep'} D={bond_dim}"
        print(f"{label:<22} rho={tnn.compression_ratio_:.3f}  accuracy {mean:.3f} ± {std:.3f}")
