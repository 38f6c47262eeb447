"""A bond_dim x svd_cutoff grid search on a dask.distributed cluster.

joblib's dask backend sends GridSearchCV's fits to the cluster's workers,
each a process whose torch uses one thread. The same search with n_jobs=1
is timed for comparison. Needs dask.distributed: pip install -e ".[dask]" in
a checkout of skltnn (or pip install "dask[distributed]").
Here the cluster is local; give Client the scheduler's address for a real one.

Run: python examples/dask_search.py
"""

import sys
import time

import joblib
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

try:
    from distributed import Client, LocalCluster
except ModuleNotFoundError:
    sys.exit('examples/dask_search.py needs dask.distributed: pip install -e ".[dask]" (or "dask[distributed]")')

from skltnn import TNNClassifier


def search(n_jobs):
    pipe = make_pipeline(StandardScaler(), TNNClassifier(early_stopping=True, random_state=0))
    grid = {"tnnclassifier__bond_dim": [2, 4, 8], "tnnclassifier__svd_cutoff": [0.0, 0.05]}
    start = time.perf_counter()
    result = GridSearchCV(pipe, grid, cv=3, n_jobs=n_jobs).fit(X, y)
    return result, time.perf_counter() - start


if __name__ == "__main__":  # the workers are new processes that import this file
    X, y = make_classification(4000, n_features=20, n_informative=10, random_state=0)
    serial, serial_seconds = search(n_jobs=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster):
        with joblib.parallel_config(backend="dask"):
            distributed, seconds = search(n_jobs=-1)
    # Same search, same seeds; torch's reductions may round differently with
    # one thread per worker than with several, so scores can differ slightly.
    for name, result in (("n_jobs=1", serial), ("dask", distributed)):
        print(f"{name:>8}: best {result.best_params_}, cv accuracy {result.best_score_:.3f}")
    print(f"{len(serial.cv_results_['params']) * 3} fits: n_jobs=1 {serial_seconds:.1f} s, "
          f"dask LocalCluster of 2 workers {seconds:.1f} s (speed-up {serial_seconds / seconds:.2f}x)")
