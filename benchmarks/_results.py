"""Every benchmark's output also goes to a file in benchmarks/results/.

That file is the one source of a measured figure: the docs quote it, with
the command that wrote it (its first line).
"""

import contextlib
import datetime
import os
import platform
import re
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


def results_path(script, args):
    """benchmarks/results/<script>[-<args>].txt, e.g. bench_layer-widths-65536.txt."""
    suffix = re.sub(r"[^A-Za-z0-9.]+", "-", " ".join(args)).strip("-")
    return RESULTS / f"{Path(script).stem}{'-' + suffix if suffix else ''}.txt"


@contextlib.contextmanager
def recorded():
    """Print to the terminal and to this run's results file, headed by the
    command and the machine."""
    import sklearn
    import torch

    path = results_path(sys.argv[0], sys.argv[1:])
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
