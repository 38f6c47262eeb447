"""``MPOEmbedding``: a drop-in for ``torch.nn.Embedding`` whose table is an MPO."""

import math

import torch
from torch import nn

from .._cores import torch_generator
from .._factorize import balanced_factors
from ._mpo_layer import MPOLayer
from ._registry import register

# A table's cores by default: three, as the tensor-train embeddings of
# TT-Rec, two for small tables.
EMBEDDING_CORES = 3
# A lookup gathers each core's slices for this many entries at most at a time
# (4 MB in float32), so that its working memory does not grow with the batch.
LOOKUP_ENTRIES = 2**20


def embedding_dims(num_embeddings, embedding_dim, n_cores=None):
    """Per-core dims of a table: the row index in ``n_cores`` equal digits
    (the rows padded up to their product, ``10**6`` as ``100**3``) and the
    embedding's width split by :func:`balanced_factors`."""
    if n_cores is None:
        n_cores = EMBEDDING_CORES if num_embeddings >= 4**EMBEDDING_CORES else 2
    radix = max(2, math.ceil(num_embeddings ** (1.0 / n_cores)))
    while (radix - 1) ** n_cores >= num_embeddings and radix > 2:  # float rounding of the root
        radix -= 1
    return (radix,) * n_cores, balanced_factors(embedding_dim, n_cores, allow_ones=True)


@register(nn.Embedding)
class MPOEmbedding(MPOLayer):
    """A lookup table whose rows are read from an MPO, never built.

    A drop-in for ``torch.nn.Embedding``: indices of any shape in, their
    rows out (one more dimension of ``embedding_dim``). The table
    (num_embeddings, embedding_dim) is an MPO whose input side factorises
    the row index into mixed-radix digits: row r is the product, core by
    core, of the slices at r's digits, so a lookup costs a few small
    matrix products per index and only the used slices get gradients.

    Parameters
    ----------
    num_embeddings, embedding_dim : int
    padding_idx : int, optional
        As ``nn.Embedding``: that row is a fixed vector (zeros, or the dense
        table's row in :meth:`from_embedding`) that gets no gradient.
    bond_dim : int, default=8
    in_dims, out_dims : sequence of int, optional
        Per-core factorisations of the rows (multiplying to at least
        ``num_embeddings``) and of ``embedding_dim``. Default: three cores
        of equal digits (:func:`embedding_dims`).
    init_std : float, default=1.0
        Standard deviation of the entries, ``nn.Embedding``'s N(0, 1).
    random_state : int, RandomState, torch.Generator or None
    device, dtype

    Attributes
    ----------
    cores : torch.nn.ParameterList
    matrix_shape : tuple of int
        (num_embeddings, embedding_dim).

    Examples
    --------
    >>> import torch
    >>> from skltnn import MPOEmbedding
    >>> emb = MPOEmbedding(1_000_000, 64, bond_dim=16)
    >>> emb(torch.tensor([[0, 999_999], [5, 6]])).shape, emb.n_params < 0.01 * 64_000_000
    (torch.Size([2, 2, 64]), True)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *, bond_dim=8, in_dims=None,
                 out_dims=None, init_std=1.0, random_state=None, device=None, dtype=None):
        super().__init__()
        self._init_cores((num_embeddings, embedding_dim), bond_dim, in_dims, out_dims, init_std,
                         torch_generator(random_state), dtype, device)
        self._set_padding(padding_idx)

    def _set_padding(self, padding_idx, row=None):
        self.num_embeddings, self.embedding_dim = self.matrix_shape
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"padding_idx must be within num_embeddings ({self.num_embeddings}), "
                                 f"got {padding_idx}")
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        if row is None:
            row = torch.zeros(self.embedding_dim, dtype=self.cores[0].dtype, device=self.cores[0].device)
        self.register_buffer("padding_row", row.detach().clone() if padding_idx is not None else None)

    # ------------------------------------------------------------- conversion
    @classmethod
    def from_embedding(cls, embedding, bond_dim=8, *, in_dims=None, out_dims=None, cutoff=0.0):
        """Compress a trained ``nn.Embedding`` by TT-SVD of its table.

        Parameters
        ----------
        embedding : torch.nn.Embedding
            Without ``max_norm``, ``scale_grad_by_freq`` or ``sparse``.
        bond_dim : int or None, default=8
            None keeps every singular value (exact).
        in_dims, out_dims : sequence of int, optional
            Default :func:`embedding_dims`.
        cutoff : float, default=0.0

        Returns
        -------
        MPOEmbedding
        """
        if not isinstance(embedding, nn.Embedding):
            raise TypeError(f"from_embedding takes an nn.Embedding, got {type(embedding).__name__}")
        return cls.from_module(embedding, bond_dim, in_dims=in_dims, out_dims=out_dims, cutoff=cutoff)

    @classmethod
    def default_dims(cls, num_embeddings, embedding_dim):
        return embedding_dims(num_embeddings, embedding_dim)

    @classmethod
    def unsupported(cls, embedding):
        for option, off in (("max_norm", None), ("scale_grad_by_freq", False), ("sparse", False)):
            if getattr(embedding, option) != off:
                return f"{option}={getattr(embedding, option)!r} (not supported; it must be {off!r})"
        return None

    @classmethod
    def dense_matrix(cls, embedding):
        return embedding.weight

    @classmethod
    def from_module_mpo(cls, embedding, mpo):
        layer = cls.wrap_mpo(mpo, (embedding.num_embeddings, embedding.embedding_dim))
        padding = embedding.padding_idx
        layer._set_padding(padding, None if padding is None else embedding.weight[padding].to(mpo.dtype))
        return layer

    # ---------------------------------------------------------------- lookup
    def rows(self, index, by_digit=None):
        """The table's rows ``index`` (a 1-D LongTensor), shape (len, embedding_dim).

        ``by_digit``: the cores with their digit index first (contiguous), if
        already at hand.
        """
        if by_digit is None:
            by_digit = [core.permute(1, 0, 2, 3).contiguous() for core in self.cores]
        strides = [math.prod(c.shape[1] for c in self.cores[k + 1:]) for k in range(len(self.cores))]
        running, o_done = None, 1
        for core, stride in zip(by_digit, strides):
            radix, d_left, o, d_right = core.shape
            # The slices at each row's digit, (len, D_left, o D_right), in one gather.
            slices = core.index_select(0, torch.div(index, stride, rounding_mode="floor") % radix)
            slices = slices.reshape(len(index), d_left, o * d_right)
            running = slices if running is None else torch.bmm(running, slices)
            o_done *= o
            running = running.reshape(len(index), o_done, d_right)
        return running.reshape(len(index), o_done)[:, :self.embedding_dim]

    def forward(self, indices):
        if indices.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"MPOEmbedding takes integer indices (int64 or int32), got {indices.dtype}")
        flat = indices.reshape(-1).long()
        if flat.numel() and not (0 <= int(flat.min()) and int(flat.max()) < self.num_embeddings):
            bad = flat[(flat < 0) | (flat >= self.num_embeddings)][0]
            raise IndexError(f"index {int(bad)} is out of range for an embedding of {self.num_embeddings} rows")
        # Each distinct row once: repeated indices (tokens) cost nothing more.
        unique, inverse = torch.unique(flat, return_inverse=True)
        by_digit = [core.permute(1, 0, 2, 3).contiguous() for core in self.cores]
        per_row = max(c[0].numel() for c in by_digit)
        parts = unique.split(max(1, LOOKUP_ENTRIES // per_row))
        rows = torch.cat([self.rows(part, by_digit) for part in parts])
        if self.padding_idx is not None:
            rows = torch.where((unique == self.padding_idx)[:, None], self.padding_row, rows)
        return rows[inverse].reshape(*indices.shape, self.embedding_dim)

    def extra_repr(self):
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}, {self._dims_repr()}"

