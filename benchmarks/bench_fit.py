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

    python benchmarks/bench_fit.py [--seeds 3] [--repeats 3] [--datasets spiral digits] [--bond-dim 8]
    python benchmarks/bench_fit.py --scaling   # fit time against n_samples
    python benchmarks/bench_fit.py --wide [--max-iter 30] [--n-cores 3]   # hidden_layer_sizes=(1024, 1024)
    python benchmarks/bench_fit.py --wide --max-iter 5 --n-cores 2 --bond-dims 8 16 32 64 [--learning-rate 3e-4]
        [--input-projection trainable] [--core-dims 128x8,8x128] [--seeds 1] [--solvers dmrg adam]
    python benchmarks/bench_fit.py --largest   # the widest (W, W) network trained in one minute
    python benchmarks/bench_fit.py --large   # the defaults on 6,000-20,000 rows: shared epochs or an epoch per visit
    python benchmarks/bench_fit.py --starts 256x4,4x256 128x8,8x128 --bond-dim 32 [--seeds 5]
        # the wide network's sweep from the full-rank start against the product start, per layout
"""

import argparse
import contextlib
import time
import warnings
from unittest import mock

import numpy as np
from sklearn.datasets import load_digits, make_classification, make_friedman1, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier, TNNRegressor
from skltnn._solvers import _sweep
from skltnn.datasets import make_spiral

from _results import recorded

# The iteration counts at which time to accuracy is tried: 10% apart, so that
# neither model's time is rounded up by more than that.
SCHEDULE = sorted({round(1.1**k) for k in range(85)})  # 1, 2, ..., 2999


def datasets(seed):
    X, y = make_spiral(600, n_classes=3, random_state=seed)
    yield "spiral", train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y), 0.97
    X, y = load_digits(return_X_y=True)
    yield "digits", train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y), 0.95


def models(seed, bond_dim=8):
    return {
        "TNN sweep": make_pipeline(StandardScaler(), TNNClassifier((64,), bond_dim=bond_dim, random_state=seed)),
        "TNN adam": make_pipeline(StandardScaler(), TNNClassifier((64,), bond_dim=bond_dim, solver="adam",
                                                                  random_state=seed)),
        "MLP": make_pipeline(StandardScaler(), MLPClassifier((64,), max_iter=3000, learning_rate_init=0.01,
                                                             random_state=seed)),
    }


def timed_fit(model, X, y, repeats=1):
    """The shortest of ``repeats`` fits of ``model`` on (X, y), in seconds."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        seconds.append(time.perf_counter() - start)
    return min(seconds)


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


def scaling():
    """Fit time of a fixed number of sweeps as the number of rows grows."""
    X, y = make_classification(200, n_features=20, random_state=0)
    timed_fit(TNNClassifier(max_iter=1), X, y)  # warm-up: torch's one-off initialisation
    print(f"{'rows':>8}{'fit (s)':>10}{'ms per 1000 rows':>18}")
    for n_samples in (1_000, 10_000, 100_000):
        X, y = make_classification(n_samples, n_features=20, n_informative=10, random_state=0)
        model = TNNClassifier(hidden_layer_sizes=(64,), max_iter=3, tol=0.0, random_state=0)
        seconds = timed_fit(model, X, y)
        print(f"{n_samples:>8}{seconds:>10.2f}{1e6 * seconds / n_samples:>18.2f}")


WIDE_SIZES = (1024, 1024)


def exactly(max_iter):
    """Settings that make a fit run exactly ``max_iter`` iterations (epochs)."""
    return dict(max_iter=max_iter, tol=0.0, n_iter_no_change=max_iter, random_state=0)


def wide_task():
    """The 20,000-row, 64-feature, 5-class task as a stratified 75/25 split,
    after torch's one-off initialisation (kept out of the timings)."""
    X, y = make_classification(20_000, n_features=64, n_informative=32, n_classes=5, random_state=0)
    timed_fit(TNNClassifier(max_iter=1), X[:200], y[:200])
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def wide_contenders(sizes, max_iter, n_cores=None):
    """The sweep, the same network by Adam, and MLPClassifier, each for
    exactly ``max_iter`` iterations (epochs)."""
    fixed = exactly(max_iter)
    return {
        "TNN sweep": TNNClassifier(sizes, bond_dim=8, n_cores=n_cores, **fixed),
        "TNN adam": TNNClassifier(sizes, bond_dim=8, n_cores=n_cores, solver="adam", **fixed),
        "MLP": MLPClassifier(sizes, **fixed),
    }


def wide(max_iter, n_cores):
    """A wide, deep network on the 20,000-row task, by each contender."""
    split = wide_task()
    sizes = WIDE_SIZES
    contenders = wide_contenders(sizes, max_iter, n_cores)
    print(f"20,000 x 64, 5 classes, hidden_layer_sizes={sizes}, bond_dim 8, n_cores {n_cores or 'auto'}, "
          f"{max_iter} iterations each")
    print(f"{'model':<11}{'test acc':>10}{'fit (s)':>10}{'s / iteration':>15}")
    seconds = {}
    for label, model in contenders.items():
        pipeline = make_pipeline(StandardScaler(), model)
        seconds[label] = timed_fit(pipeline, split[0], split[2])
        acc = pipeline.score(split[1], split[3])
        print(f"{label:<11}{acc:>10.3f}{seconds[label]:>10.1f}{seconds[label] / max_iter:>15.2f}")
    for label in ("TNN sweep", "TNN adam"):
        print(f"ratio {label} / MLP: fit {seconds[label] / seconds['MLP']:.2f}")


def frontier(max_iter, n_cores, core_dims, bond_dims, learning_rate, input_projection, seeds, solvers):
    """The wide network trained by each of ``solvers`` at each bond
    dimension against MLPClassifier, on ``seeds`` seeds of both: what a
    parameter costs in time, and buys in accuracy. ``learning_rate`` is
    Adam's; the sweep keeps its own ('auto')."""
    split = wide_task()
    sizes = WIDE_SIZES

    def contenders(seed):
        fixed = {**exactly(max_iter), "random_state": seed}
        models = {"MLP": MLPClassifier(sizes, **fixed)}
        for solver in solvers:
            rate = learning_rate if solver == "adam" else "auto"
            for bond_dim in bond_dims:
                models[f"TNN {solver} D={bond_dim}"] = TNNClassifier(
                    sizes, bond_dim=bond_dim, n_cores=n_cores, core_dims=core_dims, solver=solver,
                    learning_rate_init=rate, input_projection=input_projection, **fixed)
        return models

    layout = f"core_dims {core_dims}" if core_dims else f"n_cores {n_cores or 'auto'}"
    print(f"20,000 x 64, 5 classes, hidden_layer_sizes={sizes}, {layout}, {max_iter} iterations each, "
          f"Adam's learning_rate_init={learning_rate}, input_projection={input_projection}, {seeds} seeds")
    print(f"{'model':<17}{'seed':>5}{'rho':>8}{'test acc':>10}{'fit (s)':>10}{'ratio to MLP':>14}")
    rows = {}
    for seed in range(seeds):
        for label, model in contenders(seed).items():
            pipeline = make_pipeline(StandardScaler(), model)
            seconds = timed_fit(pipeline, split[0], split[2])
            if label == "MLP":
                mlp_seconds = seconds
            rho = getattr(model, "compression_ratio_", 1.0)
            acc = pipeline.score(split[1], split[3])
            rows.setdefault(label, []).append((acc, seconds, seconds / mlp_seconds))
            print(f"{label:<17}{seed:>5}{rho:>8.4f}{acc:>10.3f}{seconds:>10.1f}{seconds / mlp_seconds:>14.2f}",
                  flush=True)
    if seeds > 1:
        print("medians over seeds (range); the ratios are per seed")
        for label, values in rows.items():
            acc, seconds, ratio = np.array(values).T
            print(f"{label:<17} test acc {np.median(acc):.3f} ({acc.min():.3f} to {acc.max():.3f}), "
                  f"fit {np.median(seconds):.1f} s, ratio to MLP {np.median(ratio):.2f} "
                  f"({ratio.min():.2f} to {ratio.max():.2f})")


def largest(budget, iterations):
    """The widest (W, W) network, W a power of 2, that each contender trains
    for ``iterations`` iterations on the 20,000-row task within ``budget``
    seconds.

    A fit of one iteration (set-up included) times each width, widest last;
    the first width whose ``iterations`` such iterations would exceed the
    budget ends the search. The widest that fits is then trained for real.
    """
    split = wide_task()
    print(f"20,000 x 64, 5 classes, hidden_layer_sizes=(W, W), bond_dim 8: the widest W trained for "
          f"{iterations} iterations within {budget:.0f} s")
    print(f"{'model':<11}{'W':>7}{'s / iteration':>15}{'fit (s)':>10}{'test acc':>10}")
    for label in wide_contenders((8, 8), 1):
        widest, width = None, 128
        while True:
            seconds = timed_fit(make_pipeline(StandardScaler(), wide_contenders((width, width), 1)[label]),
                                split[0], split[2])
            print(f"{label:<11}{width:>7}{seconds:>15.2f}", flush=True)
            if seconds * iterations > budget:
                break
            widest, width = width, 2 * width
        if widest is None:
            print(f"{label:<11} no width trains within the budget")
            continue
        pipeline = make_pipeline(StandardScaler(), wide_contenders((widest, widest), iterations)[label])
        seconds = timed_fit(pipeline, split[0], split[2])
        acc = pipeline.score(split[1], split[3])
        print(f"{label:<11}{widest:>7}{seconds / iterations:>15.2f}{seconds:>10.1f}{acc:>10.3f}   <- widest",
              flush=True)


def large(seeds):
    """The estimators' defaults on larger data, where an epoch has many
    mini-batches: the sweep as it is (the visits share whole epochs out, a
    sweep is one pass over the data when the epoch has two batches per
    visit), the rule that gives every visit the whole epoch (an epoch per
    visit), and scikit-learn's MLP, all in a StandardScaler pipeline."""
    tasks = [
        ("classification-20k", make_classification(20_000, n_features=64, n_informative=32, n_classes=5,
                                                   random_state=0), TNNClassifier, MLPClassifier),
        ("friedman1-20k", make_friedman1(20_000, noise=1.0, random_state=0), TNNRegressor, MLPRegressor),
        ("moons-10k", make_moons(10_000, noise=0.3, random_state=0), TNNClassifier, MLPClassifier),
        ("classification-6k", make_classification(6_000, n_features=20, n_informative=10, random_state=0),
         TNNClassifier, MLPClassifier),
    ]
    epoch_per_visit = mock.patch.object(_sweep, "visit_steps", lambda n_batches, n_visits: [n_batches] * n_visits)
    print(f"defaults, 25% held out, {seeds} seeds; score is accuracy or R^2; medians (range over seeds)")
    print(f"{'data':<20}{'model':<26}{'score':>22}{'fit (s)':>10}{'iterations':>12}")
    for name, (X, y), TNN, MLP in tasks:
        rows = {}
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
            contenders = [("TNN sweep, shared", TNN(random_state=seed), contextlib.nullcontext()),
                          ("TNN sweep, epoch per visit", TNN(random_state=seed), epoch_per_visit),
                          ("MLP", MLP(random_state=seed), contextlib.nullcontext())]
            for label, model, rule in contenders:
                pipeline = make_pipeline(StandardScaler(), model)
                with rule:
                    seconds = timed_fit(pipeline, X_train, y_train)
                rows.setdefault(label, []).append((pipeline.score(X_test, y_test), seconds, model.n_iter_))
        for label, values in rows.items():
            score, seconds, n_iter = np.array(values).T
            print(f"{name:<20}{label:<26}{np.median(score):>8.3f} ({score.min():.3f}-{score.max():.3f})"
                  f"{np.median(seconds):>10.2f}{np.median(n_iter):>12.0f}")
        shared, per_visit = (np.array(rows[label]) for label in ("TNN sweep, shared", "TNN sweep, epoch per visit"))
        print(f"{name:<20}shared / epoch per visit per seed: fit {spread(shared[:, 1] / per_visit[:, 1])}, "
              f"score difference in points {spread(100 * (shared[:, 0] - per_visit[:, 0]))}")


def starts(layouts, bond_dim, max_iter, seeds):
    """The wide network (a trainable projection, ``max_iter`` iterations) by
    the sweep on each of ``layouts``, its layers started as the sweep starts
    them (a product operator where that has full rank, else the least bond
    dimension that allows full rank) and as product operators."""
    split = wide_task()
    product_start = mock.patch.object(_sweep.DMRGSweeper, "initial_bond_dim",
                                      classmethod(lambda cls, bond_dim, in_dims, out_dims: 1))
    print(f"20,000 x 64, 5 classes, hidden_layer_sizes={WIDE_SIZES}, the sweep at bond_dim {bond_dim}, "
          f"input_projection=trainable, {max_iter} iterations, {seeds} seeds; test accuracy, median (range)")
    print(f"{'cores (in, out)':<26}{'start':>6}{'full-rank start':>22}{'product start':>22}"
          f"   per-seed difference (points)")
    for core_dims in layouts:
        scores = {}
        for label, rule in (("full-rank", contextlib.nullcontext()), ("product", product_start)):
            for seed in range(seeds):
                model = TNNClassifier(WIDE_SIZES, bond_dim=bond_dim, core_dims=core_dims,
                                      input_projection="trainable", **{**exactly(max_iter), "random_state": seed})
                pipeline = make_pipeline(StandardScaler(), model)
                with rule:
                    timed_fit(pipeline, split[0], split[2])
                scores.setdefault(label, []).append(pipeline.score(split[1], split[3]))
        full, product = np.array(scores["full-rank"]), np.array(scores["product"])
        start = _sweep.DMRGSweeper.initial_bond_dim(bond_dim, *core_dims[0])
        print(f"{str(core_dims[0]):<26}{start:>6}{np.median(full):>10.3f} ({full.min():.3f}-{full.max():.3f})"
              f"{np.median(product):>10.3f} ({product.min():.3f}-{product.max():.3f})"
              f"   {spread(100 * (full - product))}", flush=True)


def core_dims_arg(text):
    """'128x8,8x128' -> core_dims of that (in_dims, out_dims) for both wide layers."""
    in_dims, out_dims = (tuple(int(d) for d in part.split("x")) for part in text.split(","))
    return [(in_dims, out_dims)] * len(WIDE_SIZES)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="time each fit as the best of this many runs")
    parser.add_argument("--datasets", nargs="+", default=["spiral", "digits"])
    parser.add_argument("--bond-dim", type=int, default=8, help="the TNNs' bond_dim (not --wide; --starts)")
    parser.add_argument("--scaling", action="store_true", help="fit time against n_samples instead")
    parser.add_argument("--wide", action="store_true", help="the (1024, 1024) network on 20,000 rows instead")
    parser.add_argument("--max-iter", type=int, default=30, help="iterations of each --wide fit")
    parser.add_argument("--n-cores", type=int, help="cores per TN layer of the --wide fits (default: auto)")
    parser.add_argument("--core-dims", type=core_dims_arg,
                        help="--bond-dims: the TNN's core_dims for every layer, e.g. 128x8,8x128 for cores "
                             "of in (128, 8) and out (8, 128)")
    parser.add_argument("--bond-dims", type=int, nargs="+",
                        help="--wide: the network by --solvers at each of these bond dimensions instead")
    parser.add_argument("--learning-rate", default="auto", type=lambda v: v if v == "auto" else float(v),
                        help="--bond-dims: the Adam TNNs' learning_rate_init")
    parser.add_argument("--solvers", nargs="+", default=["adam"], choices=["adam", "dmrg"],
                        help="--bond-dims: the TNNs' solvers")
    parser.add_argument("--input-projection", default="fixed", choices=["fixed", "trainable", "none"],
                        help="--bond-dims: the TNN's input_projection")
    parser.add_argument("--largest", action="store_true",
                        help="the widest (W, W) network each trains in one minute instead")
    parser.add_argument("--large", action="store_true",
                        help="the defaults on 6,000-20,000 rows, the visits sharing epochs or an epoch each, instead")
    parser.add_argument("--starts", type=core_dims_arg, nargs="+", metavar="CORE_DIMS",
                        help="the sweep on the wide network from the full-rank and the product start, for each "
                             "of these layouts (as --core-dims), instead")
    args = parser.parse_args()
    if args.starts:
        return starts(args.starts, args.bond_dim, args.max_iter, args.seeds)
    if args.large:
        return large(args.seeds)
    if args.largest:
        return largest(budget=60.0, iterations=10)
    if args.scaling:
        return scaling()
    if args.wide and args.bond_dims:
        return frontier(args.max_iter, args.n_cores, args.core_dims, args.bond_dims, args.learning_rate,
                        args.input_projection, args.seeds, args.solvers)
    if args.wide:
        return wide(args.max_iter, args.n_cores)
    warm_up()
    rows = {}
    for seed in range(args.seeds):
        for name, split, target in datasets(seed):
            if name not in args.datasets:
                continue
            for label, model in models(seed, args.bond_dim).items():
                fit_seconds = timed_fit(model, split[0], split[2], args.repeats)
                acc = model.score(split[1], split[3])
                tta = time_to_accuracy(models(seed, args.bond_dim)[label], split, target, args.repeats)
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
    with recorded():
        main()
