"""Timing for the benchmarks: the fastest of repeated runs, the least
disturbed by the rest of the machine."""

import time

import torch


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
