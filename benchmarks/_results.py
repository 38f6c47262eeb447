"""Every benchmark's output also goes to a file in benchmarks/results/.

That file is the one source of a measured figure: the docs quote it, with
the command that wrote it (its first line).
"""

import contextlib
import datetime
import os
import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()


def results_path(script, suite=None):
    """benchmarks/results/<script>[-<suite>].txt, e.g. bench_wide-layouts.txt."""
    return RESULTS / f"{Path(script).stem}{'-' + suite if suite else ''}.txt"


@contextlib.contextmanager
def recorded(suite=None):
    """Print to the terminal and to the results file of this script (and
    ``suite``, where the script answers more than one question), headed by
    the command line and the machine. A script records after parsing its
    arguments, so that ``--help`` writes nothing."""
    import sklearn
    import torch

    path = results_path(sys.argv[0], suite)
    path.parent.mkdir(exist_ok=True)
    with open(path, "w") as file:
        file.write(f"$ python benchmarks/{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}".rstrip() + "\n")
        file.write(f"# {datetime.date.today()}, {platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, "
                   f"Python {platform.python_version()}, torch {torch.__version__}, "
                   f"scikit-learn {sklearn.__version__}\n")
        stdout = sys.stdout
        sys.stdout = _Tee(stdout, file)
        try:
            yield
        finally:
            sys.stdout = stdout
    print(f"(written to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path})")
