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

from collections import namedtuple

from ._core import Tensor
from ._core import solve as _solve

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "SlogdetResult"]

SlogdetResult = namedtuple("SlogdetResult", ["sign", "logabsdet"])
SlogdetResult.__doc__ = "``(sign, logabsdet)`` of a determinant; ``sign`` carries no gradient."


def _matrix(name: str, A) -> Tensor:
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(A).__name__}")
    return A


def inv(A: Tensor) -> Tensor:
    """Inverse of a square matrix or a batch of them."""
    return _matrix("inv", A).inverse()


def det(A: Tensor) -> Tensor:
    """Determinant of a square matrix or a batch of them (0 for a singular one)."""
    return _matrix("det", A).det()


def slogdet(A: Tensor) -> SlogdetResult:
    """``(sign, logabsdet)`` with ``det A = sign * exp(logabsdet)``; a singular
    matrix gives ``(0, -inf)``."""
    sign, logabsdet = _matrix("slogdet", A).slogdet()
    return SlogdetResult(sign, logabsdet)


def solve(A: Tensor, B: Tensor) -> Tensor:
    """``X`` with ``A X = B``. ``B`` is a batch of vectors when it is 1-D or has shape
    ``A.shape[:-1]``, a batch of matrices ``[..., n, k]`` otherwise; batch dims
    broadcast."""
    return _solve(A, B)


def cholesky(A: Tensor, upper: bool = False) -> Tensor:
    """Cholesky factor of a symmetric positive definite matrix: lower ``L`` with
    ``A = L Lᵀ`` (or ``U = Lᵀ`` with ``upper=True``). Only the lower triangle of ``A``
    is read; the gradient is returned symmetric, as PyTorch does."""
    return _matrix("cholesky", A).cholesky(upper=upper)
