"""Wide networks: what a (1024, 1024) network's MPO layers cost and buy against MLPClassifier.

20,000 rows of ``make_classification`` with 64 features (32 informative) and 5
classes, 25% held out, every model in a ``StandardScaler`` pipeline and run
for exactly its number of iterations (epochs), no early stop.

- ``contenders``: the sweep, the same network by ``solver='adam'``, and
  ``MLPClassifier((1024, 1024))`` for ``--max-iter`` iterations at
  ``bond_dim=8``: accuracy, fit time and time per iteration.
- ``layouts``: two-core layouts that put the large factors at the ends,
  cores (128, 8), (8, 128) at D = 16, 32 and (256, 4), (4, 256) at D = 32, 64,
  a trainable projection, Adam at 1e-3 and the sweep, 30 iterations, on
  ``--seeds`` seeds of every model: what a parameter costs in time and buys
  in accuracy.
- ``largest``: the widest (W, W) network, W a power of 2, that each model
  trains for 10 iterations within a minute.

    python benchmarks/bench_wide.py contenders [--max-iter 3]
    python benchmarks/bench_wide.py layouts [--seeds 3]
    python benchmarks/bench_wide.py largest
"""

import argparse

import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier

from _results import recorded
from _timing import timed_fit

SIZES = (1024, 1024)
LAYOUTS = {  # core_dims of both layers: their bond dimensions
    ((128, 8), (8, 128)): (16, 32),
    ((256, 4), (4, 256)): (32, 64),
}


def exactly(max_iter, seed=0):
    """Settings that make a fit run exactly ``max_iter`` iterations (epochs)."""
    return dict(max_iter=max_iter, tol=0.0, n_iter_no_change=max_iter, random_state=seed)


def task():
    """The task as a stratified 75/25 split, after torch's one-off
    initialisation (kept out of the timings)."""
    X, y = make_classification(20_000, n_features=64, n_informative=32, n_classes=5, random_state=0)
    timed_fit(TNNClassifier(max_iter=1), X[:200], y[:200])
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def contenders(sizes, max_iter):
    fixed = exactly(max_iter)
    return {
        "TNN sweep": TNNClassifier(sizes, bond_dim=8, **fixed),
        "TNN adam": TNNClassifier(sizes, bond_dim=8, solver="adam", **fixed),
        "MLP": MLPClassifier(sizes, **fixed),
    }


def run_contenders(split, max_iter):
    print(f"hidden_layer_sizes={SIZES}, bond_dim 8, {max_iter} iterations each")
    print(f"{'model':<11}{'test acc':>10}{'fit (s)':>10}{'s / iteration':>15}")
    seconds = {}
    for label, model in contenders(SIZES, max_iter).items():
        pipeline = make_pipeline(StandardScaler(), model)
        seconds[label] = timed_fit(pipeline, split[0], split[2])
        acc = pipeline.score(split[1], split[3])
        print(f"{label:<11}{acc:>10.3f}{seconds[label]:>10.1f}{seconds[label] / max_iter:>15.2f}")
    for label in ("TNN sweep", "TNN adam"):
        print(f"ratio {label} / MLP: fit {seconds[label] / seconds['MLP']:.2f}")


def run_layouts(split, seeds, max_iter=30):
    print(f"hidden_layer_sizes={SIZES}, input_projection=trainable, Adam at learning_rate_init=1e-3, "
          f"{max_iter} iterations each, {seeds} seeds")
    print(f"{'model':<36}{'seed':>5}{'rho':>8}{'test acc':>10}{'fit (s)':>10}{'ratio to MLP':>14}")
    rows = {}
    for seed in range(seeds):
        models = {"MLP": MLPClassifier(SIZES, **exactly(max_iter, seed))}
        for core_dims, bond_dims in LAYOUTS.items():
            for solver in ("adam", "dmrg"):
                for bond_dim in bond_dims:
                    label = f"TNN {solver} D={bond_dim} {core_dims[0]}"
                    models[label] = TNNClassifier(
                        SIZES, bond_dim=bond_dim, core_dims=[core_dims] * 2, solver=solver,
                        learning_rate_init=1e-3 if solver == "adam" else "auto", input_projection="trainable",
                        **exactly(max_iter, seed))
        mlp_seconds = None  # the MLP's, fitted first
        for label, model in models.items():
            pipeline = make_pipeline(StandardScaler(), model)
            seconds = timed_fit(pipeline, split[0], split[2])
            mlp_seconds = mlp_seconds or seconds
            acc = pipeline.score(split[1], split[3])
            rho = getattr(model, "compression_ratio_", 1.0)
            rows.setdefault(label, []).append((acc, seconds / mlp_seconds))
            print(f"{label:<36}{seed:>5}{rho:>8.4f}{acc:>10.3f}{seconds:>10.1f}{seconds / mlp_seconds:>14.2f}",
                  flush=True)
    print("medians over seeds (range); the ratios are per seed")
    for label, values in rows.items():
        acc, ratio = np.array(values).T
        print(f"{label:<36} test acc {np.median(acc):.3f} ({acc.min():.3f} to {acc.max():.3f}), "
              f"ratio to MLP {np.median(ratio):.2f} ({ratio.min():.2f} to {ratio.max():.2f})")


def run_largest(split, budget=60.0, iterations=10):
    """A one-iteration fit (set-up included) times each width, narrowest
    first; the first width whose ``iterations`` would exceed ``budget`` ends
    the search, and the widest that fits then trains for real."""
    print(f"hidden_layer_sizes=(W, W), bond_dim 8: the widest W trained for {iterations} iterations "
          f"within {budget:.0f} s")
    print(f"{'model':<11}{'W':>7}{'s / iteration':>15}{'fit (s)':>10}{'test acc':>10}")
    for label in contenders((8, 8), 1):
        widest, width = None, 128
        while True:
            seconds = timed_fit(make_pipeline(StandardScaler(), contenders((width, width), 1)[label]),
                                split[0], split[2])
            print(f"{label:<11}{width:>7}{seconds:>15.2f}", flush=True)
            if seconds * iterations > budget:
                break
            widest, width = width, 2 * width
        if widest is None:
            print(f"{label:<11} no width trains within the budget")
            continue
        pipeline = make_pipeline(StandardScaler(), contenders((widest, widest), iterations)[label])
        seconds = timed_fit(pipeline, split[0], split[2])
        acc = pipeline.score(split[1], split[3])
        print(f"{label:<11}{widest:>7}{seconds / iterations:>15.2f}{seconds:>10.1f}{acc:>10.3f}   <- widest")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("suite", choices=["contenders", "layouts", "largest"])
    parser.add_argument("--max-iter", type=int, default=3, help="contenders: iterations of each fit")
    parser.add_argument("--seeds", type=int, default=3, help="layouts: seeds of every model")
    args = parser.parse_args()
    with recorded(args.suite):
        split = task()
        if args.suite == "contenders":
            run_contenders(split, args.max_iter)
        elif args.suite == "layouts":
            run_layouts(split, args.seeds)
        else:
            run_largest(split)


if __name__ == "__main__":
    main()
