"""Mini-batch indices that cycle through reshuffled epochs."""

import numpy as np
import torch


class BatchStream:
    """An endless stream of mini-batch index tensors (a full slice when one
    batch holds every sample).

    An epoch is split into ``ceil(n_samples / batch_size)`` batches whose
    sizes differ by at most one: 2026 samples in batches of at most 1000
    give 676, 675 and 675 rows, not 1000, 1000 and 26. A step on a batch of a
    few rows would fit those rows alone, and its loss would weigh as much
    in the iteration's mean as a full batch's.

    Parameters
    ----------
    n_samples, batch_size : int
        ``batch_size`` is the largest batch.
    shuffle : bool
        Reshuffle at the start of every epoch.
    rng : numpy RandomState
    device : where the index tensors live.

    Attributes
    ----------
    n_batches : int
    batch_size : int
        The largest batch actually drawn, ``ceil(n_samples / n_batches)``.
    """

    def __init__(self, n_samples, batch_size, shuffle, rng, device):
        self.n_samples = n_samples
        self.n_batches = -(-n_samples // min(batch_size, n_samples))
        self.batch_size = -(-n_samples // self.n_batches)
        self.shuffle = shuffle
        self.rng = rng
        self.device = device
        self._position = self.n_batches  # start a fresh epoch on the first call

    def next(self):
        if self.n_batches == 1:
            # Every step sees the whole data set; its order would only change
            # the order of summation, and indexing would copy it.
            return slice(None)
        if self._position == self.n_batches:
            order = self.rng.permutation(self.n_samples) if self.shuffle else np.arange(self.n_samples)
            self._order = torch.as_tensor(order, device=self.device)
            self._position = 0
        k, n = self._position, self.n_batches
        self._position += 1
        return self._order[k * self.n_samples // n:(k + 1) * self.n_samples // n]
