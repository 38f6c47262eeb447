"""Defaults on ordinary tabular data: TNN against MLP and gradient boosting.

Every data set that ships with scikit-learn (iris, wine, breast_cancer,
digits, diabetes, linnerud) and the generators (classification, moons,
circles, regression, friedman1-3, trained on 200 and on 2000 rows), each with
its features raw and in a ``StandardScaler`` pipeline; the regressions also
with their target shifted and scaled (``100 y + 1000``). Every model runs at
its default parameters (``--tnn-params`` overrides the TNN's), 5 seeds.

Scores are measured precisely enough to compare two models per seed: a
generator's models are tested on 2000 fresh rows of the same distribution,
and a built-in data set's on all its rows by 5-fold cross-validated
predictions (a 25% split of iris would test 38 rows, where one row is 2.6
points).

A TNN fit is an *error* when it raises and a *collapse* when its score is more
than 5 points of accuracy or 0.05 of R^2 below the MLP's on the same seed, or
its R^2 is below 0.5 where the MLP's is above. The gap is the TNN's score minus
the MLP's, per seed; the summary gives its median and spread (10th-90th
percentile) per task and features (raw or scaled).

    python benchmarks/bench_tabular.py [--seeds 5] [--tnn-params '{"bond_dim": 4}']
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn import datasets as skd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier, TNNRegressor

from _results import recorded

SIZES = (200, 2000)
TEST_ROWS = 2000


def classification_sets(seed):
    yield "iris", *skd.load_iris(return_X_y=True)
    yield "wine", *skd.load_wine(return_X_y=True)
    yield "breast_cancer", *skd.load_breast_cancer(return_X_y=True)
    yield "digits", *skd.load_digits(return_X_y=True)
    for n in SIZES:
        m = n + TEST_ROWS
        yield f"classification-{n}", *skd.make_classification(m, n_features=20, n_informative=6, n_classes=3,
                                                               random_state=seed)
        yield f"moons-{n}", *skd.make_moons(m, noise=0.2, random_state=seed)
        yield f"circles-{n}", *skd.make_circles(m, noise=0.1, factor=0.5, random_state=seed)


def regression_sets(seed):
    yield "diabetes", *skd.load_diabetes(return_X_y=True)
    yield "linnerud", *skd.load_linnerud(return_X_y=True)
    for n in SIZES:
        m = n + TEST_ROWS
        yield f"regression-{n}", *skd.make_regression(m, n_features=10, n_informative=5, noise=10,
                                                      random_state=seed)
        yield f"friedman1-{n}", *skd.make_friedman1(m, noise=1.0, random_state=seed)
        yield f"friedman2-{n}", *skd.make_friedman2(m, noise=10.0, random_state=seed)
        yield f"friedman3-{n}", *skd.make_friedman3(m, noise=0.1, random_state=seed)


def problems(seed):
    """(task, data set, features, target, X, y) for every case of one seed."""
    for name, X, y in classification_sets(seed):
        for features in ("raw", "scaled"):
            yield "classification", name, features, "y", X, y
    for name, X, y in regression_sets(seed):
        for features in ("raw", "scaled"):
            for target, t in (("y", y), ("100y+1000", 100 * y + 1000)):
                yield "regression", name, features, target, X, t


def models(task, seed, tnn_params, multi_output):
    if task == "classification":
        hgb = HistGradientBoostingClassifier(random_state=seed)
        return {"TNN": TNNClassifier(random_state=seed, **tnn_params), "MLP": MLPClassifier(random_state=seed),
                "HGB": hgb}
    hgb = HistGradientBoostingRegressor(random_state=seed)
    return {"TNN": TNNRegressor(random_state=seed, **tnn_params), "MLP": MLPRegressor(random_state=seed),
            "HGB": MultiOutputRegressor(hgb) if multi_output else hgb}


def evaluate(model, task, name, features, X, y, seed):
    """(score, fit seconds, error message or None, warned) of one model on one case."""
    if features == "scaled":
        model = make_pipeline(StandardScaler(), model)
    metric = accuracy_score if task == "classification" else r2_score
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            if "-" in name:  # a generator: the first rows train, TEST_ROWS fresh rows test
                n = int(name.rsplit("-", 1)[1])
                model.fit(X[:n], y[:n])
                seconds = time.perf_counter() - start
                score = metric(y[n:], model.predict(X[n:]))
            else:
                folds = (StratifiedKFold if task == "classification" else KFold)(5, shuffle=True, random_state=seed)
                predictions = cross_val_predict(model, X, y, cv=folds)
                seconds = (time.perf_counter() - start) / 5
                score = metric(y, predictions)
    except Exception as exc:  # an error is a result here, counted and shown
        return np.nan, time.perf_counter() - start, f"{type(exc).__name__}: {exc}"[:120], False
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return score, seconds, None, warned


def collapsed(task, tnn, mlp):
    if np.isnan(tnn):
        return False  # counted as an error
    if task == "classification":
        return tnn < mlp - 0.05
    return tnn < mlp - 0.05 or (tnn < 0.5 <= mlp)


def run(seeds, tnn_params, names=None):
    records = []
    for seed in range(seeds):
        for task, name, features, target, X, y in problems(seed):
            if names and name not in names:
                continue
            for label, model in models(task, seed, tnn_params, np.ndim(y) > 1).items():
                score, seconds, error, warned = evaluate(clone(model), task, name, features, X, y, seed)
                records.append(dict(task=task, data=name, features=features, target=target, seed=seed,
                                    model=label, score=score, seconds=seconds, error=error, warned=warned))
    return records


def summarise(records):
    by_case = {}
    for r in records:
        by_case.setdefault((r["task"], r["data"], r["features"], r["target"]), {}).setdefault(
            r["model"], {})[r["seed"]] = r
    print("| task | data | X | y | TNN | MLP | HGB | TNN - MLP | TNN s | MLP s | errors | collapses | warned |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    gaps, errors, collapses = {}, [], []
    for (task, name, features, target), by_model in by_case.items():
        tnn, mlp = by_model["TNN"], by_model["MLP"]
        n_err = n_col = 0
        for seed, r in tnn.items():
            mlp_score = mlp[seed]["score"]
            if r["error"]:
                n_err += 1
                errors.append((name, features, target, seed, r["error"]))
            elif collapsed(task, r["score"], mlp_score):
                n_col += 1
                collapses.append((name, features, target, seed, r["score"], mlp_score))
            gaps.setdefault((task, features), []).append(r["score"] - mlp_score)
        median = {m: np.nanmedian([r["score"] for r in rs.values()]) for m, rs in by_model.items()}
        secs = {m: np.median([r["seconds"] for r in rs.values()]) for m, rs in by_model.items()}
        gap = np.nanmedian([tnn[s]["score"] - mlp[s]["score"] for s in tnn])
        warned = sum(r["warned"] for r in tnn.values())
        print(f"| {task[:3]} | {name} | {features} | {target} | {median['TNN']:.3f} | {median['MLP']:.3f} "
              f"| {median['HGB']:.3f} | {gap:+.3f} | {secs['TNN']:.2f} | {secs['MLP']:.2f} | {n_err} | {n_col} "
              f"| {warned}/{len(tnn)} |")
    print()
    print("| task | X | fits | median gap TNN - MLP | 10th-90th percentile |")
    print("|---|---|---:|---:|---|")
    for (task, features), values in sorted(gaps.items()):
        values = np.asarray(values)
        lo, med, hi = np.nanpercentile(values, [10, 50, 90])
        print(f"| {task} | {features} | {len(values)} | {med:+.3f} | {lo:+.3f} to {hi:+.3f} |")
    n_fits = sum(len(v) for v in gaps.values())
    print(f"\nTNN fits: {n_fits}, errors: {len(errors)}, collapses: {len(collapses)}")
    for e in errors:
        print("  error:", *e)
    for c in collapses:
        print("  collapse: {} {} {} seed {}: TNN {:.3f}, MLP {:.3f}".format(*c))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--tnn-params", type=json.loads, default={}, help="JSON dict of TNN parameters")
    parser.add_argument("--data", nargs="+", help="only these data sets (e.g. wine friedman2-200)")
    parser.add_argument("--save", help="also write every fit's record to this JSON file")
    args = parser.parse_args()
    # A run on other data or parameters is a study, not the benchmark: its own file.
    with recorded("custom" if args.tnn_params or args.data else None):
        compare(args)


def compare(args):
    records = run(args.seeds, args.tnn_params, args.data)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(records, f)
    summarise(records)


if __name__ == "__main__":
    main()
