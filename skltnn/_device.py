"""Where torch runs: device names and numpy-to-tensor transfer."""

import numpy as np
import torch


def resolve_device(device):
    """The torch device of an estimator's ``device`` parameter.

    'auto' picks the first CUDA device when there is one, else the CPU.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        parsed = None
    if parsed is None or parsed.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    device = parsed
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={str(device)!r} was requested but CUDA is not available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={str(device)!r} was requested but there are only {torch.cuda.device_count()} CUDA devices"
            )
    return device


def to_tensor(array, dtype, device):
    """A torch tensor of a numpy array, copying only when torch cannot share it."""
    array = np.ascontiguousarray(array)
    if not array.flags.writeable:  # e.g. a read-only memmap from joblib
        array = array.copy()
    return torch.as_tensor(array, dtype=dtype, device=device)
