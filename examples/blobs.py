"""Jahromi & Orús, Table I: two Gaussian blobs, 500 train / 100 test points.

The paper's model: frozen dense 2 -> 64, a TN layer of 64 units as 6 cores
of d = 2 with ReLU, dense softmax output. Prints the test accuracy per bond
dimension (paper: 99% on average over D in [2, 12]).
Run: python examples/blobs.py
"""

from sklearn.datasets import make_blobs
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from skltnn import TNNClassifier

X, y = make_blobs(600, centers=[[0.3, 0.3], [0.7, 0.7]], cluster_std=0.1, random_state=0)
X = MinMaxScaler().fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=500, random_state=0, stratify=y)

for bond_dim in (2, 4, 8, 12):
    clf = TNNClassifier(hidden_layer_sizes=(64,), n_cores=6, bond_dim=bond_dim, input_projection="fixed",
                        random_state=0)
    clf.fit(X_train, y_train)
    print(f"D={bond_dim:<3} test accuracy {clf.score(X_test, y_test):.3f}   "
          f"entropy per bond {clf.entanglement_entropy_[0].round(2)}")
