"""``lucid.linalg``: linear algebra under PyTorch's ``torch.linalg`` names.

Every function is differentiable to any order and takes batches of matrices
(shape ``[..., n, n]``). Singular matrices (``inv``, ``solve``) and matrices that are
not positive definite (``cholesky``) raise RuntimeError naming the op and the batch
index; non-square input raises ValueError.

>>> import lucid
>>> A = lucid.tensor([[2.0, 0.0], [0.0, 4.0]])
>>> lucid.linalg.inv(A).tolist()
[[0.5, 0.0], [0.0, 0.25]]
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from ._core import Tensor
from ._core import solve as _solve

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "cross", "norm", "vector_norm", "matrix_norm", "SlogdetResult"]


class SlogdetResult(NamedTuple):
    """``(sign, logabsdet)`` of a determinant (what ``slogdet`` returns); ``sign``
    carries no gradient.

    >>> lucid.linalg.slogdet(lucid.tensor([[-2.0, 0.0], [0.0, 1.0]])).sign
    tensor(-1.)
    """

    sign: Tensor
    logabsdet: Tensor


def _matrix(name: str, A: object) -> Tensor:
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(A).__name__}")
    return A


def inv(A: Tensor) -> Tensor:
    """The inverse of a square matrix or of a batch of them (``[..., n, n]``):
    ``d(A⁻¹) = -A⁻¹ dA A⁻¹``. RuntimeError naming the batch index for a singular matrix.

    >>> lucid.linalg.inv(lucid.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    return _matrix("inv", A).inverse()


def det(A: Tensor) -> Tensor:
    """The determinant of a square matrix or of a batch of them (0 for a singular one).

    >>> lucid.linalg.det(lucid.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lucid.float64))
    tensor(-2., dtype=lucid.float64)
    """
    return _matrix("det", A).det()


def slogdet(A: Tensor) -> SlogdetResult:
    """``(sign, logabsdet)`` with ``det A = sign * exp(logabsdet)``; a singular
    matrix gives ``(0, -inf)``. Stable where ``det`` under- or overflows. At a singular
    matrix ``logabsdet`` has no derivative (its gradient ``A^-T`` is unbounded):
    backward raises RuntimeError naming the zero pivot, as PyTorch's does.

    >>> sign, logabsdet = lucid.linalg.slogdet(lucid.eye(3) * 1e-200)
    >>> sign, logabsdet.item()
    (tensor(0.), -inf)
    >>> sign, logabsdet = lucid.linalg.slogdet(lucid.eye(200, dtype=lucid.float64) * 1e-3)
    >>> sign.item(), round(logabsdet.item(), 6)          # det = 1e-600 underflows
    (1.0, -1381.551056)
    """
    sign, logabsdet = _matrix("slogdet", A).slogdet()
    return SlogdetResult(sign, logabsdet)


def solve(A: Tensor, B: Tensor) -> Tensor:
    """``X`` with ``A X = B``. ``B`` is a batch of vectors when it is 1-D or has shape
    ``A.shape[:-1]``, a batch of matrices ``[..., n, k]`` otherwise; batch dims
    broadcast. Differentiable in both; RuntimeError when ``A`` is singular.

    >>> A = lucid.tensor([[2.0, 0.0], [0.0, 4.0]])
    >>> lucid.linalg.solve(A, lucid.tensor([2.0, 2.0]))
    tensor([1. , 0.5])
    """
    return _solve(A, B)


def cholesky(A: Tensor, upper: bool = False) -> Tensor:
    """Cholesky factor of a symmetric positive definite matrix: lower ``L`` with
    ``A = L Lᵀ`` (or ``U = Lᵀ`` with ``upper=True``). Only the lower triangle of ``A``
    is read; the gradient is returned symmetric, as PyTorch does. RuntimeError when a
    matrix is not positive definite.

    >>> lucid.linalg.cholesky(lucid.tensor([[4.0, 2.0], [2.0, 5.0]]))
    tensor([[2., 0.],
            [1., 2.]])
    """
    return _matrix("cholesky", A).cholesky(upper=upper)


def cross(input: Tensor, other: Tensor, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (size 3 in both; other dims broadcast).

    >>> lucid.linalg.cross(lucid.tensor([1.0, 0.0, 0.0]), lucid.tensor([0.0, 1.0, 0.0]))
    tensor([0., 0., 1.])
    """
    return _matrix("cross", input).cross(other, dim)


_INF = float("inf")


def vector_norm(x: Tensor, ord: float = 2, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements for None): ``ord`` a number
    >= 1, ``inf`` or ``-inf``. The gradient at 0 is 0 (a subgradient).

    >>> x = lucid.tensor([3.0, -4.0])
    >>> lucid.linalg.vector_norm(x), lucid.linalg.vector_norm(x, 1), lucid.linalg.vector_norm(x, float("inf"))
    (tensor(5.), tensor(7.), tensor(4.))
    """
    if isinstance(ord, str) or ord is None:
        raise ValueError(f"vector_norm: ord must be a number >= 1, inf or -inf, got {ord!r}")
    return _matrix("vector_norm", x).norm(ord, dim, keepdim)


def matrix_norm(A: Tensor, ord: float | str = "fro", dim: tuple[int, int] | Sequence[int] = (-2, -1),
                keepdim: bool = False) -> Tensor:
    """The matrix norm over the two dims ``dim`` (a batch of matrices otherwise):
    ``'fro'``, or the induced norms ``1``/``-1`` (largest/smallest absolute column sum)
    and ``inf``/``-inf`` (the same of rows). ``'nuc'``, ``2`` and ``-2`` need singular
    values, which Lucid does not compute yet: ValueError.

    >>> A = lucid.tensor([[1.0, -2.0], [3.0, 4.0]])
    >>> lucid.linalg.matrix_norm(A, 1), lucid.linalg.matrix_norm(A, float("inf"))
    (tensor(6.), tensor(7.))
    """
    A = _matrix("matrix_norm", A)
    if not (isinstance(dim, (tuple, list)) and len(dim) == 2 and all(isinstance(d, int) for d in dim)):
        raise TypeError(f"matrix_norm: dim must be a pair of ints, got {dim!r}")
    if A.ndim < 2:
        raise ValueError(f"matrix_norm: needs at least 2 dims, got shape {tuple(A.shape)}")
    d0, d1 = (d % A.ndim if -A.ndim <= d < A.ndim else None for d in dim)
    if d0 is None or d1 is None or d0 == d1:
        raise ValueError(f"matrix_norm: dim must be two distinct dims of a {A.ndim}-D tensor, got {tuple(dim)}")
    if isinstance(ord, str) and ord == "fro":
        return A.norm(2, (d0, d1), keepdim)
    induced = {1: (d0, d1, True), -1: (d0, d1, False), _INF: (d1, d0, True), -_INF: (d1, d0, False)}
    if isinstance(ord, str) or ord not in induced:
        raise ValueError(f"matrix_norm: ord={ord!r} is not supported; use 'fro', 1, -1, inf or -inf "
                         "('nuc', 2 and -2 need singular values, which Lucid does not compute yet)")
    summed, extreme, largest = induced[ord]
    sums = A.abs().sum(summed, keepdim=True)
    out = sums.amax(extreme, keepdim=True) if largest else sums.amin(extreme, keepdim=True)
    return out if keepdim else out.squeeze(max(d0, d1)).squeeze(min(d0, d1))


def norm(A: Tensor, ord: float | str | None = None, dim: int | Sequence[int] | None = None,
         keepdim: bool = False) -> Tensor:
    """``torch.linalg.norm``: with ``ord=None`` the 2-norm of all elements (of ``dim``);
    a vector norm when ``dim`` is an int (or ``A`` is 1-D and ``dim`` None), a matrix
    norm when ``dim`` is a pair (or ``A`` is 2-D and ``dim`` None).

    >>> A = lucid.tensor([[3.0, 0.0], [0.0, 4.0]])
    >>> lucid.linalg.norm(A), lucid.linalg.norm(A, 1), lucid.linalg.norm(A, 1, dim=1)
    (tensor(5.), tensor(4.), tensor([3., 4.]))
    """
    A = _matrix("norm", A)
    if ord is None:
        return A.norm(2, dim, keepdim)
    if isinstance(dim, int) or (dim is None and A.ndim == 1):
        return vector_norm(A, ord, dim, keepdim)  # type: ignore[arg-type]  # a str ord: its ValueError
    if dim is None and A.ndim == 2:
        dim = (-2, -1)
    if isinstance(dim, (tuple, list)) and len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim)
    raise ValueError(f"norm: with ord={ord!r}, A must be 1-D or 2-D or dim an int or a pair, "
                     f"got shape {tuple(A.shape)} and dim={dim!r}")
