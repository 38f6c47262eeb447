"""Jahromi & Orús, Table III: fit y = 0.55 x + 0.20 from 400 noisy points.

Reads the slope and intercept off the fitted curve (paper: a = 0.57, b = 0.19).
Run: python examples/linear_regression.py
"""

import numpy as np

from skltnn import TNNRegressor
from skltnn.datasets import make_linear

X, y = make_linear(n_samples=400, slope=0.55, intercept=0.20, noise=0.1, random_state=0)
reg = TNNRegressor(hidden_layer_sizes=(64,), n_cores=6, bond_dim=8, input_projection="fixed", random_state=0).fit(X, y)
grid = np.linspace(0, 1, 101)[:, None]
slope, intercept = np.polyfit(grid.ravel(), reg.predict(grid), 1)
ols_slope, ols_intercept = np.polyfit(X.ravel(), y, 1)
print(f"TNN: a = {slope:.3f}, b = {intercept:.3f}   (true 0.55, 0.20; paper 0.57, 0.19; "
      f"least squares on this sample {ols_slope:.3f}, {ols_intercept:.3f})")
