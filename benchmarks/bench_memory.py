"""Peak memory of training on a large data set, in one pass and in chunks.

Each scenario runs in a fresh process so that its peak resident memory
(ru_maxrss) is its own. The same data go to sklearn's MLPClassifier as the
baseline, and the ratio is TNN / MLP.

    python benchmarks/bench_memory.py [--rows 1000000] [--features 50] [--chunks 10]
"""

import argparse
import multiprocessing
import resource
import time
import warnings

import numpy as np

MB = 2**20


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / MB


def make_data(rows, features, seed=0):
    """Rows of one fixed problem with a nonlinear boundary, in float32 as a user would load them."""
    w = np.random.default_rng(12345).standard_normal(features, dtype=np.float32)
    X = np.random.default_rng(seed).standard_normal((rows, features), dtype=np.float32)
    return X, (np.abs(X @ w) > np.sqrt(features) * 0.6745).astype(np.int64)


def run(scenario, rows, features, chunks, queue):
    warnings.simplefilter("ignore")
    import torch
    from sklearn.neural_network import MLPClassifier

    from skltnn import TNNClassifier

    torch.set_num_threads(2)
    if scenario in ("tnn fit", "mlp fit"):
        X, y = make_data(rows, features)
        model = (TNNClassifier(max_iter=1, batch_size=1000, random_state=0) if scenario == "tnn fit"
                 else MLPClassifier((64,), max_iter=1, batch_size=1000, random_state=0))
        before = rss_mb()
        start = time.perf_counter()
        model.fit(X, y)
    else:  # chunks generated one at a time, never all in memory
        model = TNNClassifier(batch_size=1000, random_state=0)
        before = rss_mb()
        start = time.perf_counter()
        for index in range(chunks):
            X, y = make_data(rows // chunks, features, seed=index)
            model.partial_fit(X, y, classes=[0, 1])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    X, y = make_data(20000, features, seed=99)
    queue.put((before, peak, seconds, model.score(X, y)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=10)
    args = parser.parse_args()
    data_mb = args.rows * args.features * 4 / MB
    print(f"{args.rows} rows x {args.features} float32 features ({data_mb:.0f} MB), hidden (64,), "
          f"batch 1000, one iteration")
    print(f"{'scenario':<26}{'RSS before':>11}{'peak RSS':>10}{'peak - before':>15}{'time':>8}{'accuracy':>10}")
    context = multiprocessing.get_context("spawn")
    growth = {}
    for scenario in ("mlp fit", "tnn fit", "tnn partial_fit"):
        queue = context.Queue()
        process = context.Process(target=run, args=(scenario, args.rows, args.features, args.chunks, queue))
        process.start()
        before, peak, seconds, accuracy = queue.get()
        process.join()
        growth[scenario] = peak - before
        label = f"{scenario} ({args.chunks} chunks)" if scenario == "tnn partial_fit" else scenario
        print(f"{label:<26}{before:>8.0f} MB{peak:>7.0f} MB{peak - before:>12.0f} MB{seconds:>7.1f}s"
              f"{accuracy:>10.3f}")
    print(f"memory growth during fit, TNN / MLP: {growth['tnn fit'] / growth['mlp fit']:.2f}")


if __name__ == "__main__":
    main()
