"""The README's Python examples run as written and print what their comments say."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def check_quick_start(ns):
    clf = ns["clf"]
    assert clf.score(ns["X_test"], ns["y_test"]) == pytest.approx(0.99, abs=0.01)
    # One entropy per bond of each TN layer, one spectrum per bond, largest first.
    assert [len(e) for e in clf.entanglement_entropy_] == [len(layer.cores) - 1 for layer in clf.network_.tn_layers]
    spectrum = np.asarray(clf.singular_values_[0][0])
    assert np.all(spectrum[1:] <= spectrum[:-1]) and spectrum[0] > 0


def check_mpo(ns):
    mpo = ns["mpo"]
    assert mpo.bond_dims == (8, 8) and mpo.compression_ratio == 0.3125
    assert len(mpo.entanglement_entropy()) == 2
    dense = np.asarray(mpo.to_dense(), dtype=np.float64)
    np.testing.assert_allclose(np.asarray(ns["y"]), np.ones((5, 64)) @ dense, rtol=1e-5, atol=1e-8)


def check_mpo_linear(ns):
    layer, small = ns["layer"], ns["small"]
    assert 4300 < sum(p.numel() for p in layer.parameters()) < 4500  # "4.4 k parameters"
    assert ns["y"].shape == (32, 1024)
    x = torch.randn(4, 1024)  # the layer computes x @ W + b with W its MPO's dense matrix
    with torch.no_grad():
        torch.testing.assert_close(layer(x), x @ layer.mpo.to_dense() + layer.bias, rtol=1e-4, atol=1e-5)
    assert max(small.mpo.bond_dims) == 16


def check_compress(ns):
    small, report = ns["small"], ns["report"]
    assert type(small[0]).__name__ == "MPOLinear" and type(small[2]) is torch.nn.Linear  # 10 outputs: kept
    assert report.params == sum(c.numel() for c in small[0].cores) <= 8000
    assert str(report).splitlines()[1].startswith("0 ")


CHECKS = {"clf": check_quick_start, "mpo": check_mpo, "layer": check_mpo_linear, "report": check_compress}


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code):
    ns = {}
    exec(compile(code, str(README), "exec"), ns)
    checks = [check for name, check in CHECKS.items() if name in ns]
    assert len(checks) == 1, "a README example without a check of what it prints"
    checks[0](ns)
