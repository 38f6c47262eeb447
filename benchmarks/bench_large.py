"""Larger data: how the fit time grows with the rows and the features, and the defaults on 6,000 to 20,000 rows.

- ``scaling``: ``TNNClassifier((64,))`` for exactly 3 sweeps on
  ``make_classification`` (20 features) of 1,000, 10,000 and 100,000 rows:
  fit time and time per 1000 rows.
- ``defaults``: the estimators' defaults against ``MLPClassifier`` /
  ``MLPRegressor``'s on four larger tasks (classification-20k, friedman1-20k,
  moons-10k, classification-6k), every model in a ``StandardScaler``
  pipeline, 25% held out, ``--seeds`` splits and seeds: score (accuracy or
  R^2), fit time and iterations, medians and range.
- ``features``: the same comparison on 2,000 rows of ``make_classification``
  with 100, 300 and 1000 features (20 informative), the TNN also with the
  frozen input map (``input_projection='fixed'``), which widens its first
  layer to the number of features.

    python benchmarks/bench_large.py scaling
    python benchmarks/bench_large.py defaults [--seeds 3]
    python benchmarks/bench_large.py features [--seeds 3]
"""

import argparse

import numpy as np
from sklearn.datasets import make_classification, make_friedman1, make_moons
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier, TNNRegressor

from _results import recorded
from _timing import timed_fit


def scaling():
    X, y = make_classification(200, n_features=20, random_state=0)
    timed_fit(TNNClassifier(max_iter=1), X, y)  # torch's one-off initialisation, kept out of the timings
    print(f"{'rows':>8}{'fit (s)':>10}{'ms per 1000 rows':>18}")
    for n_samples in (1_000, 10_000, 100_000):
        X, y = make_classification(n_samples, n_features=20, n_informative=10, random_state=0)
        seconds = timed_fit(TNNClassifier(hidden_layer_sizes=(64,), max_iter=3, tol=0.0, random_state=0), X, y)
        print(f"{n_samples:>8}{seconds:>10.2f}{1e6 * seconds / n_samples:>18.2f}")


def defaults(seeds):
    compare([
        ("classification-20k", make_classification(20_000, n_features=64, n_informative=32, n_classes=5,
                                                   random_state=0), TNNClassifier, MLPClassifier),
        ("friedman1-20k", make_friedman1(20_000, noise=1.0, random_state=0), TNNRegressor, MLPRegressor),
        ("moons-10k", make_moons(10_000, noise=0.3, random_state=0), TNNClassifier, MLPClassifier),
        ("classification-6k", make_classification(6_000, n_features=20, n_informative=10, random_state=0),
         TNNClassifier, MLPClassifier),
    ], seeds)


def features(seeds):
    tasks = [(f"{n_features} features", make_classification(2_000, n_features=n_features, n_informative=20,
                                                            random_state=0), TNNClassifier, MLPClassifier)
             for n_features in (100, 300, 1000)]
    compare(tasks, seeds, frozen=True)


def compare(tasks, seeds, frozen=False):
    """Each task's TNN (and with ``frozen``, the TNN with the frozen input map) against the MLP."""
    width = 11 if frozen else 6
    print(f"defaults, 25% held out, {seeds} seeds; score is accuracy or R^2; medians (range over seeds)")
    print(f"{'data':<20}{'model':<{width}}{'score':>22}{'fit (s)':>10}{'iterations':>12}")
    for name, (X, y), TNN, MLP in tasks:
        rows = {}
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
            models = [("TNN", TNN(random_state=seed)), ("MLP", MLP(random_state=seed))]
            if frozen:
                models.insert(1, ("TNN frozen", TNN(input_projection="fixed", random_state=seed)))
            for label, model in models:
                pipeline = make_pipeline(StandardScaler(), model)
                seconds = timed_fit(pipeline, X_train, y_train)
                rows.setdefault(label, []).append((pipeline.score(X_test, y_test), seconds, model.n_iter_))
        for label, values in rows.items():
            score, seconds, n_iter = np.array(values).T
            print(f"{name:<20}{label:<{width}}{np.median(score):>8.3f} ({score.min():.3f}-{score.max():.3f})"
                  f"{np.median(seconds):>10.2f}{np.median(n_iter):>12.0f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=["scaling", "defaults", "features"])
    parser.add_argument("--seeds", type=int, default=3, help="defaults, features: splits and seeds")
    args = parser.parse_args()
    with recorded(args.suite):
        scaling() if args.suite == "scaling" else {"defaults": defaults, "features": features}[args.suite](args.seeds)


if __name__ == "__main__":
    main()
