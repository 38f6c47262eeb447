"""Every example script runs and prints its result (paper-scale: ``-m slow``)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script):
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_dask_example_without_dask_says_what_to_install():
    script = EXAMPLES[0].parent / "dask_search.py"
    # None in sys.modules makes ``import distributed`` fail as if it were not installed.
    code = ("import runpy, sys; sys.modules['distributed'] = None; "
            f"runpy.run_path({str(script)!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert 'pip install -e ".[dask]"' in result.stderr and "Traceback" not in result.stderr
