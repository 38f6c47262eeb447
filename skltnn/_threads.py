"""How many threads torch may use inside a fit."""

import contextlib

import joblib
import torch


@contextlib.contextmanager
def limited_threads():
    """Run torch with no more threads than the CPUs this process may use.

    torch counts the host's cores, which oversubscribes a container or a
    CPU-pinned job; joblib's ``cpu_count`` honours cgroup quotas and
    affinity. Limits already in force are kept: ``OMP_NUM_THREADS`` (which
    joblib's loky and dask workers set to their share of the CPUs before
    torch starts) and threadpoolctl's ``threadpool_limits``.
    """
    before = torch.get_num_threads()
    allowed = min(before, joblib.cpu_count())
    if allowed != before:
        torch.set_num_threads(allowed)
    try:
        yield
    finally:
        if allowed != before:
            torch.set_num_threads(before)
