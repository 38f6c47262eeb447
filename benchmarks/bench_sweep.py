"""Where a DMRG bond update spends its time, and the FLOP rate it achieves.

Part 1 times the pieces of one bond update of a TNNClassifier network
(the gradients by the hand-written backward pass that small layers take and
by autograd, the dense Adam step, the SVD split; for a layer wide enough
to take the environment path, the gradients of every bond, and of every
core alone as a one-site update would take them) against one full
forward+backward of the same network by autograd. Part 2 measures the FLOP rate that
MPOLinear's chosen contraction plan achieves, against this machine's dense
matmul rate (the practical ceiling).

    python benchmarks/bench_sweep.py [--width 64] [--batch 200]
"""

import argparse

import numpy as np
import torch

from skltnn import MPOLinear
from skltnn._batches import BatchStream
from skltnn._contract import BondEnvironment, contraction_plan, merge_pair, plan_cost
from skltnn._linalg import svd
from skltnn._network import TNNetwork, layer_dims
from skltnn._objective import Objective
from skltnn._solvers import DMRGSweeper
from skltnn._solvers._sweep import _EnvironmentBond, _HandWrittenBond

from _results import recorded
from _timing import fastest

REPEATS = 20


def bond_update_breakdown(width, batch, bond_dim):
    g = torch.Generator().manual_seed(0)
    net = TNNetwork(2, 3, (width,), layer_dims((width, width)), bond_dim, ("relu",), "fixed", g,
                    torch.float32, "cpu")
    X = np.random.default_rng(0).normal(size=(batch, 2)).astype(np.float32)
    y = torch.randint(0, 3, (batch,))
    objective = Objective(net, X, y, torch.ones(batch), "cross_entropy")
    index = torch.arange(batch)
    sweeper = DMRGSweeper(net, learning_rate=0.05, bond_dim=bond_dim, svd_cutoff=0.0, sweep="all_layers")
    cores = [c.detach() for c in net.tn_layers[0].cores]
    B = merge_pair(cores[0], cores[1])
    chosen = sweeper._bond_problem(0, 0, objective, batch)
    autograd = _EnvironmentBond(net, objective, 0, 0)
    full = fastest(lambda: objective(index).backward(), REPEATS)
    chosen_seconds = fastest(lambda: chosen.gradients(index, B), REPEATS)
    auto = fastest(lambda: autograd.gradients(index, B), REPEATS)
    trial = fastest(lambda: chosen.loss(index, B), REPEATS)
    dense_grads = chosen.gradients(index, B)[2]
    adam = fastest(lambda: sweeper.line_search.dense_optimizer.direction(dense_grads), REPEATS)
    one_batch = BatchStream(batch, batch, False, np.random.RandomState(0), "cpu")
    update = fastest(lambda: sweeper.update_bond(0, 0, "right", objective, 1e-4, one_batch), REPEATS)
    (i1, o1), (i2, o2) = cores[0].shape[1:3], cores[1].shape[1:3]
    pair = B.detach().reshape(i1, i2, o1, o2, -1).transpose(1, 2).reshape(i1 * o1, -1)
    split = fastest(lambda: svd(pair), REPEATS)
    print(f"network 2 -> {width} (TN, D={bond_dim}) -> 3, batch {batch}:")
    print(f"  full forward+backward, autograd       {1e3 * full:8.3f} ms")
    if isinstance(chosen, _HandWrittenBond):  # the path of layers applied as their dense W
        print(f"  bond gradients, hand-written backward {1e3 * chosen_seconds:8.3f} ms  "
              f"({chosen_seconds / full:.2f}x full pass)")
    print(f"  bond gradients, autograd              {1e3 * auto:8.3f} ms  ({auto / full:.2f}x full pass)")
    print(f"  objective at a trial step (forward)   {1e3 * trial:8.3f} ms  ({trial / full:.2f}x full pass)")
    print(f"  Adam step on the dense parameters     {1e3 * adam:8.3f} ms")
    print(f"  one bond update of one step           {1e3 * update:8.3f} ms  ({update / full:.2f}x full pass)")
    print(f"    of which the SVD split              {1e3 * split:8.3f} ms")
    if isinstance(chosen, _EnvironmentBond):  # the wide layers' path: the cost depends on the bond
        layer = net.tn_layers[0]
        x = objective.inputs(index)  # the first layer's input
        print("  per bond k: its left environment (once per batch), then the gradients from it by autograd,")
        print("  of the bond tensor (cores k, k + 1) and of core k alone (a one-site update), x full pass:")
        for bond in range(layer.n_bonds):
            environment = fastest(lambda: layer.bond_environment(bond, x), REPEATS)
            B = merge_pair(cores[bond], cores[bond + 1])
            # Each problem keeps its batch's environment after the first call.
            pair, core = _EnvironmentBond(net, objective, 0, bond), _OneSite(net, objective, 0, bond)
            two_site = fastest(lambda: pair.gradients(index, B), REPEATS)
            one_site = fastest(lambda: core.gradients(index, cores[bond]), REPEATS)
            print(f"    bond {bond}: environment {1e3 * environment:7.3f} ms ({environment / full:.2f}x), "
                  f"bond tensor {1e3 * two_site:7.3f} ms ({two_site / full:.2f}x), "
                  f"core {1e3 * one_site:7.3f} ms ({one_site / full:.2f}x)")


class _OneSite(_EnvironmentBond):
    """Core ``bond`` alone in place of the bond tensor, from the same left
    environment: the objective of a one-site update."""

    def prepare(self, x):
        cores = [c.detach() for c in self.layer.cores]
        return BondEnvironment(x, cores[:self.bond], cores[self.bond + 1:], tuple(cores[self.bond].shape))


def flop_rate(width, batch, bond_dim):
    x = torch.randn(batch, width)
    a, b = torch.randn(batch, width), torch.randn(width, width)
    dense_rate = 2 * batch * width * width / fastest(lambda: a @ b, 5) / 1e9
    layer = MPOLinear(width, width, bond_dim)
    shapes = tuple(tuple(c.shape) for c in layer.cores)
    plan = contraction_plan(shapes, batch)
    macs, _ = plan_cost(shapes, batch, plan)
    with torch.no_grad():
        seconds = fastest(lambda: layer(x), 5)
    mpo_rate = 2 * macs / seconds / 1e9
    print(f"  {width:>6} D={bond_dim:<3} plan {[b - a for a, b in plan]}: {mpo_rate:7.1f} GFLOP/s "
          f"= {mpo_rate / dense_rate:5.1%} of dense matmul ({dense_rate:.1f} GFLOP/s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--bond-dim", type=int, default=8)
    args = parser.parse_args()
    with recorded(None if args.width == 64 else f"width-{args.width}"):
        breakdown(args)


def breakdown(args):
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bond_update_breakdown(args.width, args.batch, args.bond_dim)
    print("forward FLOP rate of the chosen contraction plan, batch 256:")
    for width, bond_dim in [(1024, 4), (4096, 4), (4096, 16), (16384, 8)]:
        flop_rate(width, 256, bond_dim)


if __name__ == "__main__":
    main()
