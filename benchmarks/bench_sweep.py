"""Where a DMRG bond update spends its time, and the FLOP rate it achieves.

Part 1 times the pieces of one bond update of a TNNClassifier network
(forward, backward, the local steps, the SVD split) against one full
forward+backward of the same network. Part 2 measures the FLOP rate that
MPOLinear's chosen contraction plan achieves, against this machine's dense
matmul rate (the practical ceiling).

    python benchmarks/bench_sweep.py [--width 64] [--batch 200]
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from skltnn import MPOLinear
from skltnn._batches import BatchStream
from skltnn._contract import contraction_plan, plan_cost
from skltnn._linalg import svd
from skltnn._network import TNNetwork, layer_dims
from skltnn._sweep import DMRGSweeper


def best_of(fn, repeats=20):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bond_update_breakdown(width, batch, bond_dim):
    g = torch.Generator().manual_seed(0)
    net = TNNetwork(2, 3, (width,), layer_dims((width, width)), bond_dim, ("relu",), "fixed", g,
                    torch.float32, "cpu")
    X = torch.randn(batch, 2)
    y = torch.randint(0, 3, (batch,))
    Z = net.embed(X)

    def loss(index, replaced=None):
        return F.cross_entropy(net.head(Z[index], replaced), y[index])

    sweeper = DMRGSweeper(net, 0.05, bond_dim, 0.0, "all_layers")
    one_batch = BatchStream(batch, batch, False, np.random.RandomState(0), "cpu")
    full = best_of(lambda: loss(torch.arange(batch)).backward())
    update = best_of(lambda: sweeper.update_bond(0, 0, "right", loss, 1e-4, one_batch))
    cores = [c.detach() for c in net.tn_layers[0].cores]
    pair = torch.einsum("aiob,bjpc->aiojpc", cores[0], cores[1])
    split = best_of(lambda: svd(pair.reshape(pair.shape[0] * pair.shape[1] * pair.shape[2], -1)))
    print(f"network 2 -> {width} (TN, D={bond_dim}) -> 3, batch {batch}:")
    print(f"  full forward+backward      {1e3 * full:8.3f} ms")
    print(f"  one bond update (1 step)   {1e3 * update:8.3f} ms  ({update / full:.2f}x full pass)")
    print(f"    of which the SVD split   {1e3 * split:8.3f} ms")
    print(f"    the rest (step + Adam)   {1e3 * (update - split):8.3f} ms")


def flop_rate(width, batch, bond_dim):
    x = torch.randn(batch, width)
    a, b = torch.randn(batch, width), torch.randn(width, width)
    dense_rate = 2 * batch * width * width / best_of(lambda: a @ b, 5) / 1e9
    layer = MPOLinear(width, width, bond_dim)
    shapes = tuple(tuple(c.shape) for c in layer.cores)
    plan = contraction_plan(shapes, batch)
    macs, _ = plan_cost(shapes, batch, plan)
    with torch.no_grad():
        seconds = best_of(lambda: layer(x), 5)
    mpo_rate = 2 * macs / seconds / 1e9
    print(f"  {width:>6} D={bond_dim:<3} plan {[b - a for a, b in plan]}: {mpo_rate:7.1f} GFLOP/s "
          f"= {mpo_rate / dense_rate:5.1%} of dense matmul ({dense_rate:.1f} GFLOP/s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--bond-dim", type=int, default=8)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bond_update_breakdown(args.width, args.batch, args.bond_dim)
    print("forward FLOP rate of the chosen contraction plan, batch 256:")
    for width, bond_dim in [(1024, 4), (4096, 4), (4096, 16), (16384, 8)]:
        flop_rate(width, 256, bond_dim)


if __name__ == "__main__":
    main()
