import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification

from skltnn import MPOConv2d, MPOEmbedding, TNNClassifier, TNNRegressor
from skltnn._device import resolve_device, to_tensor
from skltnn._linalg import svd

from .conftest import requires_cuda

FAST = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)


@pytest.fixture
def cuda_absent(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_auto_is_the_cpu_without_cuda(cuda_absent):
    assert resolve_device("auto") == torch.device("cpu")


def test_auto_and_named_gpus_with_cuda(two_gpus):
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="only 2 CUDA devices"):
        resolve_device("cuda:2")


def test_cuda_without_cuda_is_a_clear_error(cuda_absent):
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="CUDA is not available"):
        TNNClassifier(device="cuda").fit([[0.0], [1.0]], [0, 1])


@pytest.mark.parametrize("device", ["tpu", "meta", 3.5, "cuda:x"])
def test_unknown_devices_are_clear_errors(device):
    with pytest.raises(ValueError, match="device must be"):
        resolve_device(device)


def test_to_tensor_accepts_read_only_and_strided_arrays():
    array = np.arange(12.0).reshape(3, 4)[:, ::2]
    array.flags.writeable = False
    tensor = to_tensor(array, torch.float32, "cpu")
    assert tensor.dtype == torch.float32
    np.testing.assert_array_equal(tensor.numpy(), array)


def test_a_model_set_for_cuda_unpickles_and_predicts_without_cuda(cuda_absent):
    # The CPU side of test_gpu_fitted_model_loads_without_cuda: a model whose
    # parameters say device='cuda' keeps them, and predicts on the CPU.
    X, y = make_classification(100, n_features=4, random_state=0)
    est = TNNClassifier(**FAST, device="cpu").fit(X, y)
    est.set_params(device="cuda")
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params()["device"] == "cuda"
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert next(loaded.network_.parameters()).device.type == "cpu"


# ---------------------------------------------------------------- on a GPU
@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("solver", ["dmrg", "adam"])
def test_fit_runs_on_the_gpu_and_predicts_numpy(solver):
    X, y = make_classification(200, n_features=6, random_state=0)
    est = TNNClassifier(**FAST, solver=solver, device="cuda").fit(X, y)
    assert all(t.device.type == "cuda" for t in est.network_.state_dict().values())
    proba = est.predict_proba(X)
    assert isinstance(proba, np.ndarray) and proba.shape == (200, 2)
    assert est.score(X, y) > 0.8


@pytest.mark.gpu
@requires_cuda
@pytest.mark.parametrize("Estimator", [TNNClassifier, TNNRegressor])
def test_gpu_and_cpu_fits_agree_in_float64(Estimator):
    # The same seed gives the same initial network and batches on both devices,
    # so in float64 the fits differ only by rounding.
    X, y = make_classification(120, n_features=5, random_state=1)
    params = dict(FAST, dtype="float64", max_iter=3)
    cpu = Estimator(**params, device="cpu").fit(X, y)
    gpu = Estimator(**params, device="cuda").fit(X, y)
    np.testing.assert_allclose(gpu.predict(X) if Estimator is TNNRegressor else gpu.predict_proba(X),
                               cpu.predict(X) if Estimator is TNNRegressor else cpu.predict_proba(X),
                               atol=1e-6)


@pytest.mark.gpu
@requires_cuda
def test_gpu_fit_pickles_to_a_cpu_only_machine(monkeypatch):
    X, y = make_classification(100, n_features=4, random_state=0)
    est = TNNClassifier(**FAST, device="cuda").fit(X, y)
    data = pickle.dumps(est)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = pickle.loads(data)
    assert next(loaded.network_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), atol=1e-5)


@pytest.mark.gpu
@requires_cuda
def test_svd_falls_back_to_the_cpu_and_returns_to_the_gpu(monkeypatch):
    matrix = torch.randn(9, 6, device="cuda")

    def failing_svd(a, full_matrices=True):
        raise torch.linalg.LinAlgError("the algorithm failed to converge")

    monkeypatch.setattr(torch.linalg, "svd", failing_svd)
    u, s, vh = svd(matrix)
    assert all(t.device.type == "cuda" for t in (u, s, vh))
    torch.testing.assert_close(u @ torch.diag(s) @ vh, matrix, atol=1e-5, rtol=1e-5)


@pytest.mark.gpu
@requires_cuda
def test_gpu_fitted_model_loads_without_cuda(tmp_path):
    # Tensors pickled on a GPU fail to load without CUDA: the estimator must
    # carry CPU tensors. Loaded in a process that sees no GPU.
    X, y = make_classification(200, n_features=6, random_state=0)
    est = TNNClassifier(**FAST, device="cuda").fit(X, y)
    assert next(est.network_.parameters()).is_cuda
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(est))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "proba.npy", est.predict_proba(X))
    code = (
        "import pickle, sys, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "d = sys.argv[1]\n"
        "model = pickle.load(open(d + '/model.pkl', 'rb'))\n"
        "np.testing.assert_allclose(model.predict_proba(np.load(d + '/X.npy')), np.load(d + '/proba.npy'),"
        " rtol=1e-4, atol=1e-6)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True,
                   env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})


@requires_cuda
def test_conv_and_embedding_layers_run_on_the_gpu_as_on_the_cpu():
    conv = MPOConv2d(16, 32, 3, padding=1, bond_dim=4, random_state=0)
    emb = MPOEmbedding(10_000, 32, padding_idx=0, bond_dim=8, random_state=0)
    x, index = torch.randn(4, 16, 12, 12), torch.tensor([[0, 5, 9_999], [17, 5, 3]])
    torch.testing.assert_close(conv.cuda()(x.cuda()).cpu(), conv.cpu()(x), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(emb.cuda()(index.cuda()).cpu(), emb.cpu()(index), rtol=1e-4, atol=1e-4)
