"""SciPy's side of sparse Jacobians and Hessians: the CSR blocks lucid-core computes,
as ``scipy.sparse.csr_array``, and the ``Sparsity`` that describes them.

NOTE [SciPy is optional]: only ``sparse=True`` and ``sparsity`` need SciPy, so it is an
extra (``pip install lucid[sparse]``), not a dependency: the rest of Lucid needs NumPy
alone, and SciPy is a 40 MB wheel most users of dense Jacobians never touch. Asking for
a sparse result without it raises ImportError naming the fix, before ``func`` runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .._core import _CsrBlock, _RawSparsity

_FIX = "pip install scipy (or lucid[sparse])"


def require_scipy(fn: str) -> Any:
    """``scipy.sparse``, or ImportError saying how to get it."""
    try:
        import scipy.sparse as sp
    except ImportError as e:
        raise ImportError(f"{fn}: sparse results are scipy.sparse arrays, and SciPy is not installed: {_FIX}") from e
    return sp


def csr(block: _CsrBlock) -> Any:
    """A ``csr_array`` from lucid-core's ``(data, indices, indptr, shape, dtype)``."""
    data, indices, indptr, shape, dtype = block
    if dtype != "float64":
        data = data.astype(dtype)
    return _assemble(data, indices, indptr, shape)


def _checked_csr(data: npt.NDArray[Any], indices: npt.NDArray[Any], indptr: npt.NDArray[Any],
                 shape: tuple[int, int]) -> Any:
    import scipy.sparse as sp

    m = sp.csr_array((data, indices, indptr), shape=shape, copy=False)
    m.has_sorted_indices = True
    return m


def _direct_csr(data: npt.NDArray[Any], indices: npt.NDArray[Any], indptr: npt.NDArray[Any],
                shape: tuple[int, int]) -> Any:
    import scipy.sparse as sp

    m = sp.csr_array.__new__(sp.csr_array)
    m._shape, m.maxprint, m.data, m.indices, m.indptr = shape, _MAXPRINT, data, indices, indptr
    m._has_sorted_indices = m._has_canonical_format = True
    return m


def _pick_assembly() -> None:
    """NOTE [assembling csr_array]: SciPy's constructor re-validates the arrays (index
    dtypes, bounds, sortedness) and costs 12 µs, as much as a whole sparse Jacobian of
    a 1000-point stencil. lucid-core builds them valid, sorted and unique, so they are
    set on a new ``csr_array`` directly. That relies on SciPy's attribute names, so it
    is checked against the constructor on first use and abandoned if anything differs."""
    global _assemble, _MAXPRINT
    import numpy as np
    import scipy.sparse as sp

    args = (np.array([1.0, 2.0]), np.array([1, 0], dtype=np.int32), np.array([0, 1, 2], dtype=np.int32), (2, 3))
    _MAXPRINT = sp.csr_array((2, 2)).maxprint
    try:
        slow, fast = _checked_csr(*args), _direct_csr(*args)
        same = (set(vars(slow)) | {"_has_canonical_format"}) == set(vars(fast)) \
            and repr(slow) == repr(fast) and (slow != fast).nnz == 0 and fast.has_canonical_format
    except Exception:
        same = False
    _assemble = _direct_csr if same else _checked_csr


_MAXPRINT = 50


def _assemble(data: npt.NDArray[Any], indices: npt.NDArray[Any], indptr: npt.NDArray[Any],
              shape: tuple[int, int]) -> Any:
    _pick_assembly()
    return _assemble(data, indices, indptr, shape)


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

    pattern: Any
    colors: int
    direction: str
    order: str
    coloring: npt.NDArray[Any]
    nnz: int
    shape: tuple[int, int]

    def __init__(self, raw: _RawSparsity, nest: Callable[[list[Any]], Any], shape: tuple[int, int]):
        blocks, self.colors, self.direction, self.order, self.coloring = raw
        sp = require_scipy("sparsity")
        mats = [sp.csr_array((np.ones(len(ind)), ind, ptr), shape=s) for ind, ptr, s in blocks]
        self.nnz = int(sum(m.nnz for m in mats))
        self.shape = shape
        self.pattern = nest(mats)

    def __repr__(self) -> str:
        return (f"Sparsity(shape={self.shape}, nnz={self.nnz}, colors={self.colors}, "
                f"direction={self.direction!r}, order={self.order!r})")
