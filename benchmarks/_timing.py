"""Timing for the benchmarks: the fastest of repeated runs, the least
disturbed by the rest of the machine."""

import time
import warnings

import torch
from sklearn.exceptions import ConvergenceWarning


def fastest(step, repeats, warmup=1):
    """The fastest of ``repeats`` timed calls of ``step()`` in seconds, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def inference_and_training(module, inputs, repeats):
    """The fastest forward pass of ``module`` on ``inputs`` outside autograd,
    and the fastest forward + backward of its output's sum (a training step)."""

    def inference():
        with torch.no_grad():
            module(inputs)

    def training():
        module.zero_grad(set_to_none=True)
        module(inputs).sum().backward()

    return fastest(inference, repeats), fastest(training, repeats)


def timed_fit(model, X, y, repeats=1):
    """The shortest of ``repeats`` fits of ``model`` on (X, y) in seconds (a
    fit that reaches ``max_iter`` is what these benchmarks time, not a warning)."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        seconds.append(time.perf_counter() - start)
    return min(seconds)
