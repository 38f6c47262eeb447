"""A fast smoke run of ``python -m skltnn reproduce``."""

import subprocess
import sys

import numpy as np
import pytest

import skltnn
from skltnn import _reproduce
from skltnn.__main__ import main


def test_reproduce_quick_smoke(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--max-iter", "2", "--output", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("blobs (Table I)", "spiral (Table II)", "slope a", "intercept b", "RMSE to sin x",
                 "MPO-Net (adam) D=2", "DMRG sweep D=4", "dense MLP"):
        assert name in out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "blobs_spectra.png", "fig11_12_blobs.png", "fig13_14_spiral.png", "fig15_linear.png",
        "fig16_sine.png", "gao_fig2_digits.png", "gao_sm_fig5_entropy_per_bond.png", "spiral_spectra.png",
    ]


def test_table_rows_carry_paper_and_measured_values():
    rows, fitted = _reproduce.run(["linear"], _reproduce.Settings(1, (2,), (2,), 3))
    assert [r.metric for r in rows] == ["slope a (true 0.55)", "intercept b (true 0.20)"]
    assert [r.paper for r in rows] == ["0.57", "0.19"]
    # One seed: the rows are the least-squares line through that fit's predictions on [0, 1].
    model, _ = fitted["linear"]
    grid = np.linspace(0, 1, 101)
    slope, intercept = np.polyfit(grid, model.predict(grid[:, None]), 1)
    assert float(rows[0].measured) == pytest.approx(slope, abs=5e-4)
    assert float(rows[1].measured) == pytest.approx(intercept, abs=5e-4)


def test_help_explains_every_option():
    out = subprocess.run([sys.executable, "-m", "skltnn", "reproduce", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for option in ("--quick", "--output", "--experiments", "--seeds", "--max-iter", "--no-figures"):
        assert option in out


def test_version():
    out = subprocess.run([sys.executable, "-m", "skltnn", "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"skltnn {skltnn.__version__}"
