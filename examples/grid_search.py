"""A grid search over bond_dim and svd_cutoff in a tabular Pipeline.

Run: python examples/grid_search.py
"""

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skltnn import TNNClassifier

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
pipe = make_pipeline(StandardScaler(), TNNClassifier(hidden_layer_sizes=(64,), random_state=0))
grid = {"tnnclassifier__bond_dim": [2, 4, 8], "tnnclassifier__svd_cutoff": [0.0, 0.05]}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X_train, y_train)
for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
    print(f"{params}: cv accuracy {score:.3f}")
best = search.best_estimator_[-1]
print(f"best {search.best_params_}, test accuracy {search.score(X_test, y_test):.3f}, "
      f"bond dims {best.mpos_[0].bond_dims}, compression ratio {best.compression_ratio_:.3f}")
