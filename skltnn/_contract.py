"""Contractions of MPO cores: with a batch, into the dense matrix, with itself.

Cores are 4-D tensors of shape ``(D_left, i_k, o_k, D_right)`` with
``D_left = 1`` for the first and ``D_right = 1`` for the last; the input index
``(i_1..i_n)`` and output index ``(o_1..o_n)`` are C-order multi-indices.
"""

import functools
import math

import torch

# Never materialise a dense weight (or super-core) larger than this many
# entries (1 GiB in float32).
MAX_DENSE_ENTRIES = 2**28
# Writing one element to memory costs about as much time as this many
# multiply-adds inside a GEMM (measured with benchmarks/bench_layer.py on a
# 2-core CPU; GPUs are of the same order). Small contractions are memory-bound.
MEMORY_COST = 64
# Below this many columns per row, a batched matrix product is slower than
# one large product of transposed rows, copies included (measured on a
# 2-core CPU for 32 to 1024 rows per product, 200 and 1000 rows).
MIN_BATCHED_COLUMNS = 16


def contract_cores_with_input(cores, x):
    """``x @ W`` for a batch ``x`` of shape (B, N_in), one core at a time."""
    return contract_running(x.reshape(x.shape[0], 1, 1, -1), cores).reshape(x.shape[0], -1)


def contract_running(t, cores):
    """Contract the running tensor ``t`` with ``cores``, one at a time.

    The running tensor has shape (B, O_done, D, I_rest): output indices
    already produced, the open bond, input indices not yet contracted.
    """
    batch = t.shape[0]
    for core in cores:
        d_left, i, o, d_right = core.shape
        _, o_done, _, i_rest = t.shape
        rows, inner, rest = batch * o_done, d_left * i, i_rest // i
        if rest == 1:
            t = t.reshape(rows, inner) @ core.reshape(inner, o * d_right)
        else:
            # core^T (o D, D i) @ t_row (D i, rest) for every row: the result
            # is in the (B, O_done o, D, rest) layout.
            t = rowwise_product(core.reshape(inner, o * d_right).t(), t.reshape(rows, inner, rest))
        t = t.reshape(batch, o_done * o, d_right, rest)
    return t


def rowwise_product(a, t):
    """``a @ t[r]`` for every r: a (m, k), t (rows, k, n) -> (rows, m, n).

    One product per row (a batched product) needs no copy of ``t`` or of
    the result, but CPU kernels run it several times slower than one large
    matrix product when n is below :data:`MIN_BATCHED_COLUMNS`; there, one
    product of the transposed rows is cheaper, copies included.
    """
    rows, k, n = t.shape
    if n < MIN_BATCHED_COLUMNS:
        return (t.transpose(1, 2).reshape(rows * n, k) @ a.t()).reshape(rows, n, -1).transpose(1, 2)
    if torch.is_grad_enabled() and (a.requires_grad or t.requires_grad):
        return _RowwiseProduct.apply(a, t)
    return torch.bmm(a.expand(rows, *a.shape), t)


class _RowwiseProduct(torch.autograd.Function):
    """:func:`rowwise_product` with a backward that suits a shared ``a``.

    Autograd through ``bmm(a.expand(...), t)`` forms the rows x m x k
    per-row gradients of ``a`` before summing them, which for a wide layer
    can be gigabytes; one matrix product over (rows n) gives their sum.
    """

    @staticmethod
    def forward(ctx, a, t):
        ctx.save_for_backward(a, t)
        return torch.bmm(a.expand(t.shape[0], *a.shape), t)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        a, t = ctx.saved_tensors
        grad_a = grad_t = None
        if ctx.needs_input_grad[0]:
            m, k = a.shape
            grad_a = grad.transpose(0, 1).reshape(m, -1) @ t.transpose(0, 1).reshape(k, -1).t()
        if ctx.needs_input_grad[1]:
            grad_t = torch.bmm(a.t().expand(t.shape[0], *a.t().shape), grad)
        return grad_a, grad_t


def merge_cores(cores):
    """Contract a run of neighbouring cores into one 4-D core (D_left, I, O, D_right)."""
    merged = cores[0]
    for core in cores[1:]:
        merged = merge_pair(merged, core)
    return merged


def cores_to_dense(cores):
    """The dense matrix W of shape (N_in, N_out) that the cores represent."""
    merged = merge_cores(cores)
    return merged.reshape(merged.shape[1], merged.shape[2])


def inner(cores_a, cores_b):
    """``<A, B>_F = sum(A * B)`` of two MPOs with the same dims, core by core
    (neither matrix is formed)."""
    env = cores_a[0].new_ones(1, 1)
    for a, b in zip(cores_a, cores_b):
        env = torch.einsum("ab,aioc,biod->cd", env, a, b)
    return env.reshape(())


def squared_norm(cores):
    """``||W||_F^2`` by contracting the MPO with itself (W is never formed)."""
    return inner(cores, cores)


def merge_pair(left, right):
    """Contract two neighbouring cores over their bond into one 4-D core.

    The result has shape (D_left, i_k * i_k+1, o_k * o_k+1, D_right): a valid
    core, because adjacent C-order indices merge into one C-order index.
    """
    d_left, i1, o1, d_mid = left.shape
    _, i2, o2, d_right = right.shape
    # One matrix product and one copy: fewer operations than an einsum.
    merged = left.reshape(-1, d_mid) @ right.reshape(d_mid, -1)
    merged = merged.reshape(d_left, i1, o1, i2, o2, d_right).transpose(2, 3)
    return merged.reshape(d_left, i1 * i2, o1 * o2, d_right)


class BondMap:
    """The linear map from a bond tensor to the dense W of its layer, and back.

    During a bond update the layer's other cores are fixed: ``left``
    (1, I_L, O_L, a) and ``right`` (c, I_R, O_R, 1) are the cores on either
    side of the bond tensor (a, j, o, c) merged into one each, or None where
    there are none. :meth:`to_dense` equals :func:`cores_to_dense` of the
    whole chain in at most two matrix products and a copy, far fewer
    operations than contracting core by core: small layers are bound by the
    cost per operation. :meth:`adjoint` maps dL/dW back to dL/dB.
    """

    def __init__(self, left, right, bond_shape):
        self.bond_shape = tuple(bond_shape)
        a, j, o, c = self.bond_shape
        self.n_il, self.n_ol = (1, 1) if left is None else left.shape[1:3]
        self.i_r, self.o_r = (1, 1) if right is None else right.shape[1:3]
        self.left = None if left is None else left.reshape(self.n_il * self.n_ol, a)
        self.right = None if right is None else right.reshape(c, self.i_r * self.o_r)

    def to_dense(self, bond):
        """W of shape (N_in, N_out) for the bond tensor ``bond``."""
        a, j, o, c = self.bond_shape
        t = bond
        if self.right is not None:
            t = t.reshape(a * j * o, c) @ self.right
        if self.left is not None:
            t = self.left @ t.reshape(a, -1)
        t = t.reshape(self.n_il, self.n_ol, j, o, self.i_r, self.o_r).permute(0, 2, 4, 1, 3, 5)
        return t.reshape(self.n_il * j * self.i_r, self.n_ol * o * self.o_r)

    def adjoint(self, grad):
        """dL/dB for the gradient ``grad`` = dL/dW."""
        a, j, o, c = self.bond_shape
        t = grad.reshape(self.n_il, j, self.i_r, self.n_ol, o, self.o_r).permute(0, 3, 1, 4, 2, 5)
        if self.left is not None:
            t = self.left.t() @ t.reshape(self.n_il * self.n_ol, -1)
        if self.right is not None:
            t = t.reshape(a * j * o, -1) @ self.right.t()
        return t.reshape(self.bond_shape)


class BondEnvironment:
    """``x @ W`` for a fixed batch ``x`` as a function of one bond tensor.

    During a bond update the layer's input and its other cores are fixed,
    so the input contracted with the cores left of the bond (the left
    environment, the running tensor of :func:`contract_running`, by the
    cheapest contraction plan) is computed once, as are the merged groups
    of cores right of the bond that the contraction plan asks for;
    :meth:`apply` contracts the rest.

    Parameters
    ----------
    x : tensor (B, N_in)
    left, right : lists of cores
        The layer's cores before and after the bond tensor.
    bond_shape : 4-tuple
        The merged core's shape (a, j, o, c).
    """

    def __init__(self, x, left, right, bond_shape):
        self.batch = x.shape[0]
        if left:
            # By the cheapest plan, as a layer's product: core by core, every
            # step would write a running tensor D times the input's size. The
            # inputs left uncontracted multiply the plan's rows.
            uncontracted = x.shape[1] // math.prod(c.shape[1] for c in left)
            left = planned_supercores(left, self.batch * uncontracted)
        self.left = contract_running(x.reshape(self.batch, 1, 1, -1), left)
        shapes = (tuple(bond_shape),) + tuple(tuple(c.shape) for c in right)
        # The running tensor's (B, O_done) rows are a batch for the rest of the chain.
        plan = contraction_plan(shapes, self.batch * self.left.shape[1])
        # Cores merged with the bond tensor (a plan may), then the fixed groups.
        self.with_bond = right[:plan[0][1] - 1]
        self.rest = [merge_cores(right[start - 1:stop - 1]) for start, stop in plan[1:]]

    def apply(self, bond):
        """``x @ W`` with ``bond`` in place of the two cores (differentiable in it)."""
        first = merge_cores([bond, *self.with_bond])
        return contract_running(self.left, [first, *self.rest]).reshape(self.batch, -1)


def group_cost(shapes, start, stop, batch):
    """Multiply-adds and elements written to merge cores ``start..stop-1``
    into one super-core and contract the running batch tensor with it.

    Returns None when the super-core would exceed :data:`MAX_DENSE_ENTRIES`.
    """
    group = shapes[start:stop]
    d_left, d_right = group[0][0], group[-1][3]
    n_i = math.prod(s[1] for s in group)
    n_o = math.prod(s[2] for s in group)
    if d_left * n_i * n_o * d_right > MAX_DENSE_ENTRIES:
        return None
    macs = elements = 0
    acc_i, acc_o = group[0][1], group[0][2]
    for d_mid, i, o, d_next in group[1:]:
        macs += d_left * acc_i * acc_o * d_mid * i * o * d_next
        acc_i, acc_o = acc_i * i, acc_o * o
        elements += d_left * acc_i * acc_o * d_next
    o_before = math.prod(s[2] for s in shapes[:start])
    i_after = math.prod(s[1] for s in shapes[stop:])
    rows = batch * o_before * i_after
    macs += rows * d_left * n_i * n_o * d_right
    # The output, and the input's reordering unless it is x itself.
    elements += rows * n_o * d_right + (rows * d_left * n_i if (start, stop) != (0, len(shapes)) else 0)
    return macs, elements


def plan_cost(shapes, batch, groups):
    """Total (multiply-adds, elements written) of a contraction plan."""
    costs = [group_cost(shapes, start, stop, batch) for start, stop in groups]
    return sum(c[0] for c in costs), sum(c[1] for c in costs)


@functools.lru_cache(maxsize=4096)
def contraction_plan(shapes, batch):
    """The cheapest way to compute ``x @ W`` from cores of these shapes.

    A plan splits the chain into runs of neighbouring cores; each run is
    merged into one super-core and the batch is contracted with the
    super-cores in turn. One run is "rebuild W, then one matmul"; one core per
    run is the core-by-core contraction; anything between mixes the two.
    Dynamic programming over the split points finds the plan of least
    ``multiply-adds + MEMORY_COST * elements written`` in O(n^2), never
    forming a super-core larger than :data:`MAX_DENSE_ENTRIES`.

    Parameters
    ----------
    shapes : tuple of 4-tuples
        Core shapes (D_left, i, o, D_right).
    batch : int

    Returns
    -------
    tuple of (start, stop)
    """
    n = len(shapes)
    best = [(0, ())] + [None] * n
    for stop in range(1, n + 1):
        for start in range(stop):
            cost = group_cost(shapes, start, stop, batch)
            if cost is None or best[start] is None:
                continue
            total = best[start][0] + cost[0] + MEMORY_COST * cost[1]
            if best[stop] is None or total < best[stop][0]:
                best[stop] = (total, best[start][1] + ((start, stop),))
    return best[n][1]


def planned_supercores(cores, batch):
    """The runs of ``cores`` that :func:`contraction_plan` merges for a batch
    of ``batch`` rows, each merged into its super-core."""
    groups = contraction_plan(tuple(tuple(c.shape) for c in cores), batch)
    return [merge_cores(cores[start:stop]) for start, stop in groups]


def mpo_matmul(x, cores, merge=planned_supercores):
    """``x @ W`` for x of shape (B, N_in) by the cheapest contraction plan
    (``merge(cores, batch)``: its super-cores)."""
    supers = merge(cores, x.shape[0])
    if len(supers) == 1:
        return x @ supers[0].reshape(supers[0].shape[1], supers[0].shape[2])
    return contract_cores_with_input(supers, x)
