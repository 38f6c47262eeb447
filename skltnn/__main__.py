"""Command line: ``python -m skltnn reproduce`` (also installed as ``skltnn``)."""

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from . import __version__, _reproduce


def build_parser():
    parser = argparse.ArgumentParser(
        prog="skltnn", description="Tensor neural networks for scikit-learn: reproduce the papers.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    rep = commands.add_parser(
        "reproduce",
        help="run the papers' experiments and print a 'paper vs skltnn' table",
        description=(
            "Runs Jahromi & Orus (2022) Tables I-IV (blobs, spiral, linear and sine regression) with "
            "the paper's architectures, and Gao et al. (2020)'s MPO-Net on sklearn's digits, prints "
            "a 'paper vs skltnn' table and writes the figures (PNG, needs matplotlib). No network "
            "access: all data are generated or ship with scikit-learn."),
    )
    rep.add_argument("--quick", action="store_true",
                     help="one seed, fewer bond dimensions and at most 100 sweeps: about half a minute on 2 cores")
    rep.add_argument("--output", type=Path, default=Path("skltnn-reproduce"),
                     help="folder for the figures and the table, reproduction.txt (default: ./skltnn-reproduce)")
    rep.add_argument("--experiments", nargs="+", choices=list(_reproduce.EXPERIMENTS),
                     default=list(_reproduce.EXPERIMENTS), help="which experiments to run (default: all)")
    rep.add_argument("--seeds", type=int, help="number of random seeds per setting (quick: 1, full: 5)")
    rep.add_argument("--max-iter", type=int, help="cap on sweeps (or epochs) per fit (quick: 100, full: 2000)")
    rep.add_argument("--no-figures", action="store_true", help="print the table only")
    return parser


def reproduce(args, argv=None):
    settings = _reproduce.QUICK if args.quick else _reproduce.FULL
    if args.seeds is not None:
        settings = dataclasses.replace(settings, seeds=args.seeds)
    if args.max_iter is not None:
        settings = dataclasses.replace(settings, max_iter=args.max_iter)
    start = time.perf_counter()
    total = len(args.experiments)

    def progress(name):
        done = args.experiments.index(name)
        bar = "#" * done + "." * (total - done)
        print(f"[{bar}] {done}/{total} running {name} ({time.perf_counter() - start:.0f} s)", flush=True)

    rows, fitted = _reproduce.run(args.experiments, settings, progress)
    seconds = time.perf_counter() - start
    print(f"[{'#' * total}] {total}/{total} done in {seconds:.0f} s\n")
    table = _reproduce.format_table(rows, settings.seeds)
    print(table)
    # The table also goes to a file beside the figures: what the docs quote.
    args.output.mkdir(parents=True, exist_ok=True)
    command = " ".join(["skltnn", *(sys.argv[1:] if argv is None else argv)])
    (args.output / "reproduction.txt").write_text(
        f"$ {command}\n# skltnn {__version__}, {seconds:.0f} s\n{table}\n")
    if not args.no_figures:
        try:
            paths = _reproduce.save_figures(fitted, args.output)
        except ImportError:
            print("\nmatplotlib is not installed: no figures (pip install matplotlib)")
        else:
            print(f"\nfigures written to {args.output}/: " + ", ".join(p.name for p in paths))
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    return reproduce(args, argv)


if __name__ == "__main__":
    sys.exit(main())
