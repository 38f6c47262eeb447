"""The docs are current: the API reference renders the docstrings, and every code block runs."""

import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = [page for page in sorted(DOCS.glob("*.md")) if "```python" in page.read_text()]


def test_api_reference_is_up_to_date():
    spec = importlib.util.spec_from_file_location("build_api", DOCS / "build_api.py")
    build_api = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_api)
    assert (DOCS / "api.md").read_text() == build_api.render(), "run: python docs/build_api.py"


def _missing_modules(code):
    names = re.findall(r"^(?:from|import) ([\w.]+)", code, flags=re.M)
    return [name for name in names if importlib.util.find_spec(name.split(".")[0]) is None]


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_code_blocks_run_in_order(page, tmp_path, monkeypatch):
    # As a reader pastes them into one script: a shared namespace, run as __main__.
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for code in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
        if _missing_modules(code):
            continue  # an optional integration (ray) that is not installed here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            exec(compile(code, str(page), "exec"), namespace)
    CHECKS[page.name](namespace)


def check_scaling(ns):
    # "the same scores": a parallel search reproduces a serial one with the workers' threads.
    np.testing.assert_array_equal(ns["parallel"], ns["serial"])
    assert ns["search"].best_params_["tnnclassifier__bond_dim"] in (2, 4, 8)
    assert ns["search"].best_score_ == ns["search"].cv_results_["mean_test_score"].max()
    assert ns["clf"].n_iter_ > 0 and ns["clf"].predict(ns["X"]).shape == ns["y"].shape


def check_compression(ns):
    # The reports' tables are the ones the page shows.
    shown = re.findall(r"```\n(layer .*?)```", (DOCS / "compression.md").read_text(), flags=re.S)
    assert [str(ns["report"]), str(ns["cnn_report"])] == [table.rstrip("\n") for table in shown[:2]]
    assert type(ns["small_cnn"].conv2).__name__ == "Conv2d" and type(ns["small_cnn"].tags).__name__ == "MPOEmbedding"
    assert ns["report"].params <= 6000 and type(ns["small"][4]).__name__ == "Linear"
    assert ns["total"].bond_dims == (12,) * 7 and ns["rounded"].bond_dims == (8,) * 7
    error = (ns["total"] - ns["rounded"]).norm()
    assert ns["total"].truncation_error(8) == pytest.approx(error, rel=1e-6)


def check_user_guide(ns):
    assert ns["conv"].matrix_shape == (144, 32) and ns["emb"].n_params == 115_200


CHECKS = {"scaling.md": check_scaling, "compression.md": check_compression, "user_guide.md": check_user_guide}


RESULTS = DOCS.parent / "benchmarks" / "results"


def test_every_results_file_the_docs_quote_exists_and_names_its_command():
    cited = {name for page in DOCS.rglob("*.md") for name in re.findall(r"benchmarks/results/([\w.-]+\.txt)",
                                                                         page.read_text())}
    assert "bench_memory.txt" in cited and "bench_tabular.txt" in cited
    for name in cited:
        first = (RESULTS / name).read_text().splitlines()[0]
        assert first.startswith(f"$ python benchmarks/{name.split('-')[0].removesuffix('.txt')}.py")


@pytest.mark.parametrize("results, prefixes", [
    ("bench_tabular.txt", ("| classification |", "| regression |")),
    ("bench_real.txt", ("| cla |", "| reg |")),
])
def test_the_performance_tables_are_the_benchmarks_output(results, prefixes):
    # Every row the page quotes is a line of the results file, as written.
    written = set((RESULTS / results).read_text().splitlines())
    rows = [line for line in (DOCS / "performance.md").read_text().splitlines() if line.startswith(prefixes)]
    assert rows and all(row in written for row in rows)
