"""MPOConv2d against torch.nn.Conv2d: inference and training time at the same shapes.

For 3 x 3 convolutions of several widths on a batch of 32 feature maps of
16 x 16 (padding 1), and each bond dimension: the fastest of the repeats of
a forward pass outside autograd and of a forward + backward pass, for
MPOConv2d and for nn.Conv2d, their ratios (below 1: the MPO is faster),
which path the forward pass took (the kernel rebuilt for F.conv2d, or the
unfolded patches contracted with the cores) and the parameters.

    python benchmarks/bench_conv.py [--channels 64 256 512] [--bond-dims 4 16 64]
"""

import argparse

import torch
from _results import recorded
from _timing import inference_and_training
from torch import nn

from skltnn import MPOConv2d

BATCH, SIZE = 32, 16


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, nargs="+", default=[64, 256, 512])
    parser.add_argument("--bond-dims", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    with recorded():
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; 3x3 convolutions, padding 1, "
              f"a batch of {BATCH} maps of {SIZE}x{SIZE}")
        print(f"{'channels':>9}{'D':>5}{'path':>9}{'params':>10}{'dense params':>14}{'infer ms':>10}"
              f"{'dense ms':>10}{'ratio':>7}{'train ms':>10}{'dense ms':>10}{'ratio':>7}")
        for channels in args.channels:
            x = torch.randn(BATCH, channels, SIZE, SIZE)
            dense = nn.Conv2d(channels, channels, 3, padding=1)
            dense_infer, dense_train = inference_and_training(dense, x, args.repeats)
            for bond_dim in args.bond_dims:
                layer = MPOConv2d(channels, channels, 3, padding=1, bond_dim=bond_dim)
                infer, train = inference_and_training(layer, x, args.repeats)
                path = "kernel" if layer.rebuilds_kernel(BATCH * SIZE * SIZE) else "cores"
                print(f"{channels:>9}{bond_dim:>5}{path:>9}{layer.n_params:>10,}{dense.weight.numel():>14,}"
                      f"{infer * 1e3:>10.2f}{dense_infer * 1e3:>10.2f}{infer / dense_infer:>7.2f}"
                      f"{train * 1e3:>10.2f}{dense_train * 1e3:>10.2f}{train / dense_train:>7.2f}")


if __name__ == "__main__":
    main()
