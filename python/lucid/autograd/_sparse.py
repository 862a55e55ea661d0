"""SciPy's side of sparse Jacobians and Hessians: the CSR blocks lucid-core computes,
as ``scipy.sparse.csr_array``, and the ``Sparsity`` that describes them.

NOTE [SciPy is optional]: only ``sparse=True`` and ``sparsity`` need SciPy, so it is an
extra (``pip install lucid[sparse]``), not a dependency: the rest of Lucid needs NumPy
alone, and SciPy is a 40 MB wheel most users of dense Jacobians never touch. Asking for
a sparse result without it raises ImportError naming the fix, before ``func`` runs.
"""

from __future__ import annotations

import numpy as np

_FIX = "pip install scipy (or lucid[sparse])"


def require_scipy(fn: str):
    """``scipy.sparse``, or ImportError saying how to get it."""
    try:
        import scipy.sparse as sp
    except ImportError as e:
        raise ImportError(f"{fn}: sparse results are scipy.sparse arrays, and SciPy is not installed: {_FIX}") from e
    return sp


def csr(block):
    """A ``csr_array`` from lucid-core's ``(data, indices, indptr, shape, dtype)``; the
    arrays are taken as they are (lucid-core gives them fresh, sorted and unique)."""
    import scipy.sparse as sp

    data, indices, indptr, shape, dtype = block
    if dtype != "float64":
        data = data.astype(dtype)
    m = sp.csr_array((data, indices, indptr), shape=shape, copy=False)
    m.has_sorted_indices = True
    m.has_canonical_format = True
    return m


class Sparsity:
    """The structural sparsity of a Jacobian (or Hessian) and how Lucid computes it.

    - ``pattern``: a ``csr_array`` of ones at the structural nonzeros, per block as the
      result would be (a tuple for tuple inputs; nested for a Hessian of tuple inputs).
    - ``colors``: the number of colours, i.e. of tangents (or cotangents) in the one
      compressed sweep; ``direction``: ``"forward"`` (columns coloured), ``"reverse"``
      (rows coloured) or ``"star"`` (a Hessian's columns, star-coloured).
    - ``order``: the vertex order of the greedy colouring that won; ``coloring``: the
      colour of each column (forward, star) or row (reverse), all inputs (or outputs)
      stacked.
    - ``shape`` and ``nnz``: of the whole matrix, all blocks side by side.
    """

    def __init__(self, raw, nest, shape):
        blocks, self.colors, self.direction, self.order, self.coloring = raw
        sp = require_scipy("sparsity")
        mats = [sp.csr_array((np.ones(len(ind)), ind, ptr), shape=s) for ind, ptr, s in blocks]
        self.nnz = int(sum(m.nnz for m in mats))
        self.shape = shape
        self.pattern = nest(mats)

    def __repr__(self):
        return (f"Sparsity(shape={self.shape}, nnz={self.nnz}, colors={self.colors}, "
                f"direction={self.direction!r}, order={self.order!r})")
