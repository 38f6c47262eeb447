"""Contractions of MPO cores: with a batch, into the dense matrix, with itself.

Cores are 4-D tensors of shape ``(D_left, i_k, o_k, D_right)`` with
``D_left = 1`` for the first and ``D_right = 1`` for the last; the input index
``(i_1..i_n)`` and output index ``(o_1..o_n)`` are C-order multi-indices.
"""

import math

import torch

# Never materialise a dense weight larger than this many entries (1 GiB in
# float32): beyond it the core-by-core path is the only safe one.
MAX_DENSE_ENTRIES = 2**28


def contract_cores_with_input(cores, x):
    """``x @ W`` for a batch ``x`` of shape (B, N_in), one core at a time.

    The running tensor has shape (B, O_done, D, I_rest): output indices
    already produced, the open bond, input indices not yet contracted.
    """
    batch = x.shape[0]
    t = x.reshape(batch, 1, 1, -1)
    for core in cores:
        d_left, i, o, d_right = core.shape
        _, o_done, _, i_rest = t.shape
        t = t.reshape(batch, o_done, d_left, i, i_rest // i)
        t = torch.einsum("bpaic,aiod->bpodc", t, core)
        t = t.reshape(batch, o_done * o, d_right, i_rest // i)
    return t.reshape(batch, -1)


def cores_to_dense(cores):
    """The dense matrix W of shape (N_in, N_out) that the cores represent."""
    _, i, o, d = cores[0].shape
    m = cores[0].reshape(i, o, d)
    for core in cores[1:]:
        n_i, n_o, _ = m.shape
        _, i, o, d = core.shape
        m = torch.einsum("IOa,aiob->IiOob", m, core).reshape(n_i * i, n_o * o, d)
    return m.reshape(m.shape[0], m.shape[1])


def squared_norm(cores):
    """``||W||_F^2`` by contracting the MPO with itself (W is never formed)."""
    env = cores[0].new_ones(1, 1)
    for core in cores:
        env = torch.einsum("ab,aioc,biod->cd", env, core, core)
    return env.reshape(())


def merge_pair(left, right):
    """Contract two neighbouring cores over their bond into one 4-D core.

    The result has shape (D_left, i_k * i_k+1, o_k * o_k+1, D_right): a valid
    core, because adjacent C-order indices merge into one C-order index.
    """
    d_left, i1, o1, _ = left.shape
    _, i2, o2, d_right = right.shape
    merged = torch.einsum("aiob,bjpc->aijopc", left, right)
    return merged.reshape(d_left, i1 * i2, o1 * o2, d_right)


def core_by_core_flops(shapes, batch):
    """Multiply-adds of :func:`contract_cores_with_input` for these core shapes."""
    n_in = math.prod(s[1] for s in shapes)
    flops, o_done, i_rest = 0, 1, n_in
    for d_left, i, o, d_right in shapes:
        i_rest //= i
        flops += batch * o_done * i_rest * d_left * i * o * d_right
        o_done *= o
    return flops


def dense_flops(shapes, batch):
    """Multiply-adds to rebuild W with :func:`cores_to_dense`, then ``x @ W``."""
    n_in = math.prod(s[1] for s in shapes)
    n_out = math.prod(s[2] for s in shapes)
    flops, done = 0, shapes[0][1] * shapes[0][2]
    for d_left, i, o, d_right in shapes[1:]:
        flops += done * d_left * i * o * d_right
        done *= i * o
    return flops + batch * n_in * n_out


def prefer_dense(shapes, batch):
    """Whether rebuilding W and one matmul is cheaper than core by core.

    Decided by counted multiply-adds, and never when W would not fit in
    :data:`MAX_DENSE_ENTRIES`.
    """
    n_entries = math.prod(s[1] for s in shapes) * math.prod(s[2] for s in shapes)
    if n_entries > MAX_DENSE_ENTRIES:
        return False
    return dense_flops(shapes, batch) < core_by_core_flops(shapes, batch)


def mpo_matmul(x, cores):
    """``x @ W`` for x of shape (B, N_in) by the cheaper contraction path."""
    shapes = tuple(tuple(c.shape) for c in cores)
    if prefer_dense(shapes, x.shape[0]):
        return x @ cores_to_dense(cores)
    return contract_cores_with_input(cores, x)
