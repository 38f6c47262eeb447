"""Peak memory of training on a large data set, in one pass and in chunks.

Each measurement runs in a fresh process: it makes the data, warms the
model up on a few thousand rows (torch's thread pools and kernels load once,
not during the fit), resets the process's peak resident memory (VmHWM,
through /proc/self/clear_refs) and fits. Its growth is the peak during the
fit minus the resident memory just before it. The scenarios take turns over
``--repeats`` rounds; the table gives medians and ranges (min to max), and
the TNN / MLP growth ratio its median and range over the rounds. The same
data go to sklearn's MLPClassifier as the baseline. Linux only.

    python benchmarks/bench_memory.py [--rows 1000000] [--features 50] [--chunks 10] [--repeats 5]
"""

import argparse
import multiprocessing
import time
import warnings

import numpy as np

from _results import recorded

MB = 2**20
SCENARIOS = {
    "mlp fit": "`MLPClassifier((64,))`, 1 epoch",
    "tnn fit": "`TNNClassifier`, 1 iteration",
    "tnn partial_fit": "`TNNClassifier.partial_fit`, {chunks} chunks",
}


def memory_mb(field):
    """A field of /proc/self/status (VmRSS: now, VmHWM: peak) in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident memory


def make_data(rows, features, seed=0):
    """Rows of one fixed problem with a nonlinear boundary, in float32 as a user would load them."""
    w = np.random.default_rng(12345).standard_normal(features, dtype=np.float32)
    X = np.random.default_rng(seed).standard_normal((rows, features), dtype=np.float32)
    return X, (np.abs(X @ w) > np.sqrt(features) * 0.6745).astype(np.int64)


def make_model(scenario):
    from sklearn.neural_network import MLPClassifier

    from skltnn import TNNClassifier

    if scenario == "mlp fit":
        return MLPClassifier((64,), max_iter=1, batch_size=1000, random_state=0)
    return TNNClassifier(max_iter=1, batch_size=1000, random_state=0)


def measure(scenario, rows, features, chunks, queue):
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(2)
    make_model(scenario).fit(*make_data(5000, features, seed=98))  # warm-up
    model = make_model(scenario)
    if scenario == "tnn partial_fit":  # chunks made one at a time, never all in memory
        before = memory_mb("VmRSS")
        reset_peak()
        start = time.perf_counter()
        for index in range(chunks):
            X, y = make_data(rows // chunks, features, seed=index)
            model.partial_fit(X, y, classes=[0, 1])
            del X, y
    else:
        X, y = make_data(rows, features)
        before = memory_mb("VmRSS")
        reset_peak()
        start = time.perf_counter()
        model.fit(X, y)
    seconds = time.perf_counter() - start
    peak = memory_mb("VmHWM")
    X, y = make_data(20000, features, seed=99)
    queue.put((before, peak, seconds, model.score(X, y)))


def spread(values, fmt):
    values = np.asarray(values)
    return f"{format(np.median(values), fmt)} ({format(values.min(), fmt)}–{format(values.max(), fmt)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    custom = (args.rows, args.features, args.chunks) != (1_000_000, 50, 10)
    with recorded("custom" if custom else None):
        measure_all(args)


def measure_all(args):
    context = multiprocessing.get_context("spawn")
    runs = {scenario: [] for scenario in SCENARIOS}
    for _ in range(args.repeats):
        for scenario in SCENARIOS:
            queue = context.Queue()
            process = context.Process(target=measure,
                                      args=(scenario, args.rows, args.features, args.chunks, queue))
            process.start()
            runs[scenario].append(queue.get())
            process.join()
    data_mb = args.rows * args.features * 4 / MB
    print(f"{args.rows} rows x {args.features} float32 features ({data_mb:.0f} MB), hidden (64,), batch 1000; "
          f"medians (min–max) of {args.repeats} runs, each in a fresh process")
    print()
    print("| scenario | RSS before | growth during fit | time (s) | accuracy |")
    print("|---|---:|---:|---:|---:|")
    growth = {}
    for scenario, label in SCENARIOS.items():
        before, peak, seconds, accuracy = np.array(runs[scenario]).T
        growth[scenario] = peak - before
        print(f"| {label.format(chunks=args.chunks)} | {np.median(before):.0f} MB | {spread(peak - before, '.0f')} MB "
              f"| {spread(seconds, '.1f')} | {np.median(accuracy):.3f} |")
    print()
    print(f"memory growth during fit, TNN / MLP (per round): {spread(growth['tnn fit'] / growth['mlp fit'], '.2f')}")


if __name__ == "__main__":
    main()
