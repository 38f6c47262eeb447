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
        "fig16_sine.png", "gao_fig2_digits.png", "gao_sm_fig5_entropy_per_bond.png", "reproduction.txt",
        "spiral_spectra.png",
    ]
    # The table printed is the table written, under the command that made it.
    written = (tmp_path / "reproduction.txt").read_text().splitlines()
    assert written[0] == f"$ skltnn reproduce --quick --max-iter 2 --output {tmp_path}"
    assert "\n".join(written[2:]) in out


def test_table_rows_carry_paper_and_measured_values():
    rows, fitted = _reproduce.run(["linear"], _reproduce.Settings(1, (2,), (2,), 3))
    assert [r.metric for r in rows] == ["slope a (true 0.55)", "intercept b (true 0.20)"]
    assert [r.paper for r in rows] == ["0.57", "0.19"]
    # Met when at least as close to the true line (0.55, 0.20) as the paper's fit.
    assert [r.met for r in rows] == [abs(float(rows[0].measured) - 0.55) <= 0.0205,
                                     abs(float(rows[1].measured) - 0.20) <= 0.0105]
    # One seed: the rows are the least-squares line through that fit's predictions on [0, 1].
    model, _ = fitted["linear"]
    grid = np.linspace(0, 1, 101)
    slope, intercept = np.polyfit(grid, model.predict(grid[:, None]), 1)
    assert float(rows[0].measured) == pytest.approx(slope, abs=5e-4)
    assert float(rows[1].measured) == pytest.approx(intercept, abs=5e-4)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_digits_study_trains_every_network_with_the_papers_l2(monkeypatch):
    # Gao et al. train the dense and the MPO networks with the same L2 penalty.
    fitted_models = []

    def record(model, X, y):
        fitted_models.append(model[-1])
        return model.set_params(**{f"{model.steps[-1][0]}__max_iter": 1}).fit(X, y), 0.0

    monkeypatch.setattr(_reproduce, "_fit", record)
    rows = _reproduce.digits(_reproduce.Settings(1, (2,), (2,), 1, wide_digits_bond_dims=(2,)), {})
    assert len(rows) == 6 and len(fitted_models) == 6  # dense, MPO-Net, sweep; 64 and 256 units
    assert {type(m).__name__ for m in fitted_models} == {"MLPClassifier", "TNNClassifier"}
    assert [m.alpha for m in fitted_models] == [_reproduce.DIGITS_ALPHA] * 6
    assert rows[0].detail == f"rho = 1, alpha = {_reproduce.DIGITS_ALPHA}"


def test_help_explains_every_option():
    out = subprocess.run([sys.executable, "-m", "skltnn", "reproduce", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for option in ("--quick", "--output", "--experiments", "--seeds", "--max-iter", "--no-figures"):
        assert option in out


def test_version():
    out = subprocess.run([sys.executable, "-m", "skltnn", "--version"], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == f"skltnn {skltnn.__version__}"


def test_table_says_met_or_not_and_what_the_spread_is_over():
    rows = [_reproduce.Result("a (Table I)", "test accuracy", "0.99", "0.995 ± 0.004", 1.0, 10, "", True),
            _reproduce.Result("b", "test accuracy", "within 1 pt", "0.90", 2.0, 20, "rho = 0.1", False),
            _reproduce.Result("c", "test accuracy", "-", "0.80", 3.0, 30)]
    lines = _reproduce.format_table(rows, 5).splitlines()
    assert lines[0].split() == ["experiment", "metric", "paper", "skltnn", "vs", "paper", "fit", "(s)", "params",
                                "note"]
    assert [line.split("  ")[0] for line in lines[1:4]] == ["a (Table I)", "b", "c"]
    verdict_column = lines[0].index("vs paper")
    assert [line[verdict_column:].split("  ")[0] for line in lines[1:4]] == ["met", "not met", "-"]
    assert "standard deviation over 5 seeds" in lines[-1]
