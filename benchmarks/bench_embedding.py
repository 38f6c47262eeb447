"""An embedding table of 10^6 x 64 as nn.Embedding and as MPOEmbedding: memory and lookup time.

For each bond dimension: the parameters and their share of the dense table,
the most memory a lookup of 4096 random rows allocates at once outside
autograd (torch's profiler), and the time of that lookup (forward, and
forward + backward of their sum, as a training step needs), the fastest of
the repeats, against nn.Embedding in the same process.

    python benchmarks/bench_embedding.py [--rows 1000000] [--dim 64]
"""

import argparse

import torch
from _results import recorded
from _timing import inference_and_training
from torch import nn
from torch.profiler import ProfilerActivity, profile

from skltnn import MPOEmbedding

BOND_DIMS = (4, 8, 16, 32, 64)
LOOKUP = 4096
REPEATS = 20


def peak_bytes(table, index):
    """The most bytes allocated at once during a lookup outside autograd."""
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        table(index)
    current = peak = 0
    for event in sorted(profiler.events(), key=lambda e: e.time_range.start):
        current += event.self_cpu_memory_usage
        peak = max(peak, current)
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    args = parser.parse_args()
    with recorded():
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; a {args.rows:,} x {args.dim} table, "
              f"lookups of {LOOKUP} random rows")
        index = torch.randint(0, args.rows, (LOOKUP,), generator=torch.Generator().manual_seed(0))
        dense = nn.Embedding(args.rows, args.dim)
        dense_forward, dense_backward = inference_and_training(dense, index, REPEATS)
        table_mb = 4 * dense.weight.numel() / 2**20
        print(f"{'table':<28}{'params':>12}{'of dense':>10}{'lookup MB':>11}{'of table':>10}{'forward ms':>12}"
              f"{'/ dense':>9}{'fwd+bwd ms':>12}{'/ dense':>9}")
        lookup = peak_bytes(dense, index) / 2**20
        print(f"{'nn.Embedding':<28}{dense.weight.numel():>12,}{1:>10.4f}{lookup:>11.1f}{lookup / table_mb:>10.4f}"
              f"{dense_forward * 1e3:>12.3f}{1:>9.2f}{dense_backward * 1e3:>12.3f}{1:>9.2f}")
        for bond_dim in BOND_DIMS:
            table = MPOEmbedding(args.rows, args.dim, bond_dim=bond_dim, random_state=0)
            forward, backward = inference_and_training(table, index, REPEATS)
            dims = "x".join(str(c.shape[1]) for c in table.cores)
            lookup = peak_bytes(table, index) / 2**20
            print(f"{f'MPOEmbedding D={bond_dim} ({dims})':<28}{table.n_params:>12,}"
                  f"{table.n_params / dense.weight.numel():>10.4f}{lookup:>11.1f}{lookup / table_mb:>10.4f}"
                  f"{forward * 1e3:>12.3f}"
                  f"{forward / dense_forward:>9.2f}{backward * 1e3:>12.3f}{backward / dense_backward:>9.2f}")


if __name__ == "__main__":
    main()
