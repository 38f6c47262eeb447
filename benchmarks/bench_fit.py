"""Time to accuracy: TNNClassifier (DMRG sweep and solver='adam') against sklearn's MLPClassifier.

For each data set and seed, the three models are fitted (1) with their
settings as given, reporting test accuracy and fit time, and (2) for growing
``max_iter`` from scratch: with a fixed random_state a fit of k iterations is
exactly the first k iterations of a longer one, so the first k that reaches
the target accuracy gives the time to reach it (k tried 10% apart). Medians
over seeds; the ratios are TNN / MLP per seed (below 1: the TNN is faster),
their median and range, and so are the sweep's accuracy differences to the
other two, in points. Each of these fits is timed as the best of
``--repeats`` identical runs, as timeit does: the machine's noise only ever
adds time, and a fit with a fixed random_state repeats the same work.

    python benchmarks/bench_fit.py [--seeds 10] [--repeats 3]

Larger data is ``bench_large.py``'s question, wide networks ``bench_wide.py``'s.
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier
from skltnn.datasets import make_spiral

from _results import recorded
from _timing import timed_fit

# The iteration counts at which time to accuracy is tried: 10% apart, so that
# neither model's time is rounded up by more than that.
SCHEDULE = sorted({round(1.1**k) for k in range(85)})  # 1, 2, ..., 2999


def datasets(seed):
    X, y = make_spiral(600, n_classes=3, random_state=seed)
    yield "spiral", train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y), 0.97
    X, y = load_digits(return_X_y=True)
    yield "digits", train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y), 0.95


def models(seed):
    return {
        "TNN sweep": make_pipeline(StandardScaler(), TNNClassifier((64,), random_state=seed)),
        "TNN adam": make_pipeline(StandardScaler(), TNNClassifier((64,), solver="adam", random_state=seed)),
        "MLP": make_pipeline(StandardScaler(), MLPClassifier((64,), max_iter=3000, learning_rate_init=0.01,
                                                             random_state=seed)),
    }


def time_to_accuracy(model, split, target, repeats):
    X_train, X_test, y_train, y_test = split
    for max_iter in SCHEDULE:
        # Never stop early, so that k iterations are a prefix of any longer fit.
        model.set_params(**{f"{model.steps[-1][0]}__{k}": v for k, v in
                            dict(max_iter=max_iter, tol=0.0, n_iter_no_change=10**6).items()})
        seconds = timed_fit(model, X_train, y_train, repeats)
        if model.score(X_test, y_test) >= target:
            return seconds
    return float("nan")


def spread(values):
    """'median m (range low to high)' of per-seed values."""
    low, median, high = np.percentile(values, [0, 50, 100])
    return f"median {median:.2f} (range {low:.2f} to {high:.2f})"


def warm_up():
    """torch's one-off initialisation, kept out of the first timed fit."""
    X, y = make_spiral(60, random_state=0)
    for model in models(0).values():
        timed_fit(model.set_params(**{f"{model.steps[-1][0]}__max_iter": 2}), X, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="time each fit as the best of this many runs")
    args = parser.parse_args()
    with recorded():
        compare(args.seeds, args.repeats)


def compare(seeds, repeats):
    warm_up()
    rows = {}
    for seed in range(seeds):
        for name, split, target in datasets(seed):
            for label, model in models(seed).items():
                fit_seconds = timed_fit(model, split[0], split[2], repeats)
                acc = model.score(split[1], split[3])
                tta = time_to_accuracy(models(seed)[label], split, target, repeats)
                rows.setdefault((name, target), {}).setdefault(label, []).append((acc, fit_seconds, tta))
    print(f"{'data':<8}{'model':<11}{'test acc':>10}{'fit (s)':>10}{'time to target (s)':>20}")
    for (name, target), by_model in rows.items():
        for label, values in by_model.items():
            acc, fit_seconds, tta = np.median(np.array(values), axis=0)
            print(f"{name:<8}{label:<11}{acc:>10.3f}{fit_seconds:>10.3f}{tta:>20.3f}   (target {target})")
        results = {label: np.array(values) for label, values in by_model.items()}
        for label in ("TNN sweep", "TNN adam"):
            ratios = results[label][:, 1:] / results["MLP"][:, 1:]
            for column, what in enumerate(("fit", f"time to {target:.0%}")):
                print(f"{name:<8}ratio {label}/MLP per seed, {what}: {spread(ratios[:, column])}")
        for other in ("TNN adam", "MLP"):
            points = 100 * (results["TNN sweep"][:, 0] - results[other][:, 0])
            print(f"{name:<8}test acc TNN sweep - {other} per seed, points: {spread(points)}")


if __name__ == "__main__":
    main()
