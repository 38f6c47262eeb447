"""Every example script runs and prints its result (paper-scale: ``-m slow``)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
# MNIST needs a download: here the script runs on a slice of digits.
ARGUMENTS = {"mpo_net_mnist": ["--data", "digits", "--rows", "300", "--epochs", "1"]}


def run(script):
    return subprocess.run([sys.executable, str(script), *ARGUMENTS.get(script.stem, [])], capture_output=True,
                          text=True, timeout=900)


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script):
    result = run(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_the_mpo_net_example_trains_both_networks_on_a_slice_of_digits():
    result = run(EXAMPLES[0].parent / "mpo_net_mnist.py")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("digits: 300 training and 450 test images, 1 epochs")
    assert lines[1].startswith("LeNet-5 ") and "rho 1.000" in lines[1]
    assert lines[2].startswith("LeNet-5 MPO-Net") and "rho 0.0" in lines[2]


def test_dask_example_without_dask_says_what_to_install():
    script = EXAMPLES[0].parent / "dask_search.py"
    # None in sys.modules makes ``import distributed`` fail as if it were not installed.
    code = ("import runpy, sys; sys.modules['distributed'] = None; "
            f"runpy.run_path({str(script)!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert 'pip install -e ".[dask]"' in result.stderr and "Traceback" not in result.stderr
