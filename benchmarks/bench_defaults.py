"""The defaults where users meet them outside a table benchmark: a grid search and a wide network.

- ``search``: ``load_digits`` in a 3-fold ``GridSearchCV`` over ``bond_dim``
  in {2, 8} (a ``StandardScaler`` pipeline, everything else at its default)
  against ``MLPClassifier`` cross-validated on the same folds, for ``--seeds``
  seeds of the models.
- ``wide``: ``hidden_layer_sizes=(1024, 1024)`` at the default ``bond_dim`` on
  20,000 rows x 64 features, 5 classes (25% held out), against
  ``MLPClassifier((1024, 1024))``, both at their defaults otherwise: test
  accuracy, fit time, and the warnings the fit gave.

    python benchmarks/bench_defaults.py search [--seeds 3]
    python benchmarks/bench_defaults.py wide
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier

from _results import recorded


def search(seeds):
    X, y = load_digits(return_X_y=True)
    folds = StratifiedKFold(3)  # what cv=3 means for a classifier
    print("load_digits, 3-fold CV (the same folds for both); TNN: GridSearchCV over bond_dim in {2, 8}")
    print(f"{'seed':>4}{'TNN best':>10}{'bond_dim':>10}{'MLP':>8}{'TNN - MLP':>11}{'TNN s':>8}{'MLP s':>8}")
    gaps = []
    for seed in range(seeds):
        grid = GridSearchCV(make_pipeline(StandardScaler(), TNNClassifier(random_state=seed)),
                            {"tnnclassifier__bond_dim": [2, 8]}, cv=folds)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grid.fit(X, y)
        tnn_seconds = time.perf_counter() - start
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlp = cross_val_score(make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)), X, y,
                                  cv=folds).mean()
        mlp_seconds = time.perf_counter() - start
        gaps.append(grid.best_score_ - mlp)
        print(f"{seed:>4}{grid.best_score_:>10.3f}{grid.best_params_['tnnclassifier__bond_dim']:>10}{mlp:>8.3f}"
              f"{gaps[-1]:>+11.3f}{tnn_seconds:>8.1f}{mlp_seconds:>8.1f}")
    print(f"median TNN - MLP {np.median(gaps):+.4f} (range {min(gaps):+.4f} to {max(gaps):+.4f})")


def wide():
    X, y = make_classification(20_000, n_features=64, n_informative=32, n_classes=5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    print("20,000 x 64, 5 classes, hidden_layer_sizes=(1024, 1024), defaults otherwise, StandardScaler pipeline")
    seconds = {}
    for label, model in (("TNN", TNNClassifier((1024, 1024), random_state=0)),
                         ("MLP", MLPClassifier((1024, 1024), random_state=0))):
        pipeline = make_pipeline(StandardScaler(), model)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pipeline.fit(X_train, y_train)
        seconds[label] = time.perf_counter() - start
        print(f"{label}: test accuracy {pipeline.score(X_test, y_test):.3f}, fit {seconds[label]:.1f} s, "
              f"{model.n_iter_} iterations")
        for warning in caught:
            print(f"  {warning.category.__name__}: {warning.message}")
    print(f"fit time TNN / MLP: {seconds['TNN'] / seconds['MLP']:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=["search", "wide"])
    parser.add_argument("--seeds", type=int, default=3, help="search: seeds of the models")
    args = parser.parse_args()
    with recorded(args.suite):
        search(args.seeds) if args.suite == "search" else wide()


if __name__ == "__main__":
    main()
