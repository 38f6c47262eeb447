"""Grid search on a real dask.distributed cluster, through joblib's dask backend."""

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skltnn import TNNClassifier

distributed = pytest.importorskip("distributed")

GRID = {"bond_dim": [2, 4], "svd_cutoff": [0.0, 1e-2]}


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def test_grid_search_on_a_local_cluster_matches_the_serial_one(client):
    X, y = make_classification(150, n_features=4, random_state=0)
    estimator = TNNClassifier(hidden_layer_sizes=(16,), max_iter=3, random_state=0)
    serial = GridSearchCV(estimator, GRID, cv=2).fit(X, y)
    with joblib.parallel_config(backend="dask"), distributed.get_task_stream(client) as tasks:
        search = GridSearchCV(estimator, GRID, cv=2, n_jobs=-1).fit(X, y)
    assert len(tasks.data) > 0
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    assert search.best_params_ == serial.best_params_
    # The fits ran in the worker processes, where torch has one thread each
    # (dask sets OMP_NUM_THREADS=1 there before torch starts).
    workers = client.run(lambda: __import__("torch").get_num_threads())
    assert len(workers) == 2 and set(workers.values()) == {1}
