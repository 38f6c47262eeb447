from unittest import mock

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import cross_validate
from threadpoolctl import threadpool_limits

import skltnn._threads
from skltnn import TNNClassifier
from skltnn._objective import Objective
from skltnn._threads import limited_threads

PARAMS = dict(hidden_layer_sizes=(16,), max_iter=10, random_state=0)


class ThreadRecordingClassifier(TNNClassifier):
    """Records how many threads torch may use during the training steps."""

    def fit(self, X, y):
        threads_seen = set()
        loss_and_gradient = Objective.loss_and_gradient

        def recorded(objective, output, index):
            threads_seen.add(torch.get_num_threads())
            return loss_and_gradient(objective, output, index)

        with mock.patch.object(Objective, "loss_and_gradient", recorded):
            super().fit(X, y)
        self.threads_seen_ = threads_seen
        return self


@pytest.fixture
def data():
    return make_classification(120, n_features=4, random_state=0)


def test_limited_threads_caps_torch_at_the_cpus_joblib_sees(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(skltnn._threads.joblib, "cpu_count", lambda: 1)
    with limited_threads():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_a_fit_keeps_a_threadpoolctl_limit(data):
    with threadpool_limits(limits=1, user_api="openmp"):
        est = ThreadRecordingClassifier(**PARAMS).fit(*data)
    assert est.threads_seen_ == {1}


@pytest.mark.skipif(joblib.cpu_count() < 2, reason="needs two CPUs to share")
def test_cross_validation_workers_share_the_cpus(data):
    # joblib's loky workers each get cpu_count // n_jobs threads: n_jobs fits
    # in parallel never ask for more threads than there are CPUs, and they
    # reproduce serial fits run with the same number of threads.
    result = cross_validate(ThreadRecordingClassifier(**PARAMS), *data,
                            cv=2, n_jobs=2, return_estimator=True)
    share = joblib.cpu_count() // 2
    assert [est.threads_seen_ for est in result["estimator"]] == [{share}, {share}]
    with threadpool_limits(limits=share, user_api="openmp"):
        serial = cross_validate(TNNClassifier(**PARAMS), *data, cv=2, return_estimator=True)
    for parallel_fit, serial_fit in zip(result["estimator"], serial["estimator"]):
        assert parallel_fit.loss_curve_ == serial_fit.loss_curve_
    np.testing.assert_array_equal(result["test_score"], serial["test_score"])
