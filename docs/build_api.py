"""Write docs/api.md from the public docstrings: python docs/build_api.py"""

import inspect
from pathlib import Path

import skltnn
from skltnn import datasets, plotting

PUBLIC = [
    ("skltnn", skltnn, ["TNNClassifier", "TNNRegressor", "MPO", "MPOLinear", "MPOConv2d", "MPOEmbedding", "compress",
                        "CompressionReport", "balanced_factors"]),
    ("skltnn.datasets", datasets, ["make_spiral", "make_linear", "make_sine"]),
    ("skltnn.plotting", plotting, ["plot_training", "plot_decision_boundary", "plot_spectra"]),
]
METHODS = {
    "TNNClassifier": ["fit", "partial_fit", "predict", "predict_proba", "predict_log_proba", "decision_function"],
    "TNNRegressor": ["fit", "partial_fit", "predict"],
    "MPO": ["random", "from_dense", "to_dense", "apply", "canonicalize", "singular_values", "entanglement_entropy"],
    "MPOLinear": ["from_linear", "from_mpo", "forward", "round"],
    "MPOConv2d": ["from_conv", "forward", "kernel", "rebuilds_kernel"],
    "MPOEmbedding": ["from_embedding", "forward"],
}


def section(title, obj, level):
    signature = ""
    try:
        signature = str(inspect.signature(obj))
    except (TypeError, ValueError):
        pass
    doc = inspect.cleandoc(obj.__doc__ or "")
    return f"{'#' * level} `{title}{signature}`\n\n```text\n{doc}\n```\n"


def render():
    parts = ["# API reference\n", "Generated from the docstrings by `python docs/build_api.py`.\n"]
    for module_name, module, names in PUBLIC:
        parts.append(f"## `{module_name}`\n")
        for name in names:
            obj = getattr(module, name)
            parts.append(section(f"{module_name}.{name}", obj, 3))
            for method in METHODS.get(name, []):
                parts.append(section(f"{name}.{method}", getattr(obj, method), 4))
    return "\n".join(parts)


if __name__ == "__main__":
    Path(__file__).with_name("api.md").write_text(render())
