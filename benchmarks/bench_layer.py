"""MPOLinear against torch.nn.Linear: forward + backward time and memory.

Prints, for each width and bond dimension, the median time of one
forward+backward pass of MPOLinear and of nn.Linear of the same shape, their
ratio (below 1: the MPO is faster), the contraction path the cost model
chose, and the parameter memory. The backward pass computes the weights'
gradients, as for a network's first layer; the last column also computes the
input's, as for any later layer. Widths whose dense weight would not fit are
timed for the MPO alone.

    python benchmarks/bench_layer.py [--device cuda]   # widths 64, 1024, 4096 at D = 2 to 32, batch 256
    python benchmarks/bench_layer.py --huge             # a 65536-wide layer at D = 8, batch 64
    python benchmarks/bench_layer.py --widths 256 16384 --bond-dims 4 --batch 128   # any other: -custom
"""

import argparse
import resource
import time

import torch
from torch import nn

from skltnn import MPOLinear
from skltnn._contract import contraction_plan, plan_cost

from _results import recorded

DENSE_LIMIT = 2**26  # dense baselines above this many weights are skipped (256 MB)


def median_time(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def forward_backward(layer, x):
    def run():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x).sum().backward()
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--huge", action="store_true", help="a layer whose dense weight would take 17 GB")
    parser.add_argument("--widths", type=int, nargs="+")
    parser.add_argument("--bond-dims", type=int, nargs="+")
    parser.add_argument("--batch", type=int)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    custom = args.widths or args.bond_dims or args.batch
    widths, bond_dims, batch = ([65536], [8], 64) if args.huge else ([64, 1024, 4096], [2, 4, 8, 16, 32], 256)
    args.widths, args.bond_dims, args.batch = args.widths or widths, args.bond_dims or bond_dims, args.batch or batch
    suite = "-".join(part for part in ("huge" if args.huge else "", "custom" if custom else "",
                                       "" if args.device == "cpu" else args.device) if part)
    with recorded(suite or None):
        compare(args)


def compare(args):
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.device}, {torch.get_num_threads()} threads, batch {args.batch}")
    print("plan: cores merged per run, e.g. 33 = two halves, 6 = rebuild W of 6 cores")
    print(f"{'width':>7} {'D':>3} {'plan':>8} {'mpo ms':>9} {'dense ms':>9} {'ratio':>7} "
          f"{'MPO MFLOP':>10} {'dense MFLOP':>11} {'mpo params':>11} {'ratio, input grad':>18}")
    for width in args.widths:
        x = torch.randn(args.batch, width, device=args.device)
        x_grad = x.clone().requires_grad_(True)
        dense_ms = dense_grad_ms = None
        if width * width <= DENSE_LIMIT:
            dense = nn.Linear(width, width, device=args.device)
            dense_ms = 1e3 * median_time(forward_backward(dense, x), args.repeats)
            dense_grad_ms = 1e3 * median_time(forward_backward(dense, x_grad), args.repeats)
        for bond_dim in args.bond_dims:
            layer = MPOLinear(width, width, bond_dim, device=args.device)
            shapes = tuple(tuple(c.shape) for c in layer.cores)
            plan = contraction_plan(shapes, args.batch)
            path = "".join(str(stop - start) for start, stop in plan)  # cores per run
            flops = plan_cost(shapes, args.batch, plan)[0]
            mpo_ms = 1e3 * median_time(forward_backward(layer, x), args.repeats)
            ratio = f"{mpo_ms / dense_ms:7.3f}" if dense_ms else "      -"
            dense_txt = f"{dense_ms:9.2f}" if dense_ms else "        -"
            ratio_grad = "-"
            if dense_grad_ms:
                ratio_grad = f"{1e3 * median_time(forward_backward(layer, x_grad), args.repeats) / dense_grad_ms:.3f}"
            print(f"{width:>7} {bond_dim:>3} {path:>8} {mpo_ms:9.2f} {dense_txt} {ratio} "
                  f"{2 * flops / 1e6:10.1f} {2 * args.batch * width * width / 1e6:11.1f} "
                  f"{sum(c.numel() for c in layer.cores):>11} {ratio_grad:>18}")
    if args.device == "cpu":
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory of the process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
