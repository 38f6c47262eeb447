"""Mini-batch indices that cycle through reshuffled epochs."""

import numpy as np
import torch


class BatchStream:
    """An endless stream of mini-batch index tensors (a full slice when one
    batch holds every sample).

    Parameters
    ----------
    n_samples, batch_size : int
    shuffle : bool
        Reshuffle at the start of every epoch.
    rng : numpy RandomState
    device : where the index tensors live.
    """

    def __init__(self, n_samples, batch_size, shuffle, rng, device):
        self.n_samples = n_samples
        self.batch_size = min(batch_size, n_samples)
        self.n_batches = int(np.ceil(n_samples / self.batch_size))
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
        start = self._position * self.batch_size
        self._position += 1
        return self._order[start:start + self.batch_size]
