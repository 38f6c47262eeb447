import numpy as np
import pytest
import torch


@pytest.fixture
def rng():
    return np.random.default_rng(0)


requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


# A small configuration of the estimators that trains in a few sweeps.
FAST = dict(hidden_layer_sizes=(16,), max_iter=30, random_state=0)


@pytest.fixture(scope="module")
def spiral():
    from sklearn.model_selection import train_test_split

    from skltnn.datasets import make_spiral

    X, y = make_spiral(600, n_classes=3, random_state=0)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def fitted_spiral(spiral):
    from skltnn import TNNClassifier

    Xtr, Xte, ytr, yte = spiral
    return TNNClassifier(bond_dim=8, random_state=0).fit(Xtr, ytr)
