"""``lucid.linalg``: linear algebra under PyTorch's ``torch.linalg`` names.

Every function is differentiable to any order and takes batches of matrices
(shape ``[..., m, n]``). Singular matrices (``inv``, ``solve``), matrices that are not
positive definite (``cholesky``) and matrices holding NaN or inf (``eigh``, ``svd``,
``qr``, ``lstsq``) raise RuntimeError naming the op and the batch index; non-square
input to an op that needs a square matrix raises ValueError. The sign and ordering
conventions of the spectral factorizations and the behaviour of their derivatives at
repeated eigenvalues are in the docstrings of ``eigh`` and ``svd`` and on the docs page.

>>> import lucid
>>> A = lucid.tensor([[2.0, 0.0], [0.0, 4.0]])
>>> lucid.linalg.inv(A).tolist()
[[0.5, 0.0], [0.0, 0.25]]
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from . import _core
from ._core import Tensor
from ._core import solve as _solve

__all__ = ["inv", "det", "slogdet", "solve", "cholesky", "cross", "norm", "vector_norm", "matrix_norm",
           "eigh", "eigvalsh", "svd", "svdvals", "qr", "lstsq", "matrix_rank", "pinv", "cond",
           "SlogdetResult", "EighResult", "SVDResult", "QRResult", "LstsqResult"]


class SlogdetResult(NamedTuple):
    """``(sign, logabsdet)`` of a determinant (what ``slogdet`` returns); ``sign``
    carries no gradient.

    >>> lucid.linalg.slogdet(lucid.tensor([[-2.0, 0.0], [0.0, 1.0]])).sign
    tensor(-1.)
    """

    sign: Tensor
    logabsdet: Tensor


class EighResult(NamedTuple):
    """``(eigenvalues, eigenvectors)`` of a symmetric matrix (what ``eigh`` returns).

    >>> lucid.linalg.eigh(lucid.tensor([[2.0, 0.0], [0.0, 1.0]])).eigenvalues
    tensor([1., 2.])
    """

    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    """``(U, S, Vh)`` of a singular value decomposition (what ``svd`` returns).

    >>> lucid.linalg.svd(lucid.tensor([[0.0, 2.0], [1.0, 0.0]])).S
    tensor([2., 1.])
    """

    U: Tensor
    S: Tensor
    Vh: Tensor


class QRResult(NamedTuple):
    """``(Q, R)`` of a QR factorization (what ``qr`` returns).

    >>> lucid.linalg.qr(lucid.tensor([[3.0], [4.0]])).R
    tensor([[5.]])
    """

    Q: Tensor
    R: Tensor


class LstsqResult(NamedTuple):
    """``(solution, residuals, rank, singular_values)`` of a least-squares problem (what
    ``lstsq`` returns; the fields its driver does not compute are empty tensors).

    >>> lucid.linalg.lstsq(lucid.eye(2), lucid.tensor([[1.0], [2.0]])).solution
    tensor([[1.],
            [2.]])
    """

    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


def _matrix(name: str, A: object) -> Tensor:
    if not isinstance(A, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(A).__name__}")
    return A


def _uplo(name: str, UPLO: object) -> bool:
    """``True`` for the upper triangle, from PyTorch's ``UPLO`` ('L' or 'U')."""
    if not isinstance(UPLO, str) or UPLO.upper() not in ("L", "U"):
        raise ValueError(f"{name}: UPLO must be 'L' or 'U', got {UPLO!r}")
    return UPLO.upper() == "U"


# NOTE [spectral conventions]: eigenvalues come ascending (as torch.linalg.eigh and
# numpy.linalg.eigh), singular values descending. Vectors are determined only up to
# sign (up to a rotation for repeated values); Lucid fixes the sign so that each
# eigenvector and each left singular vector has its component of largest magnitude
# positive (the right singular vector flips with it), and R of a QR has a non-negative
# diagonal. PyTorch and NumPy take LAPACK's signs, so their factors may differ from
# Lucid's by a sign per column; the products (A = V diag(λ) Vᵀ, U diag(S) Vh, Q R) agree.
#
# NOTE [degenerate spectra] (gradients): eigenvalues and singular values have finite
# gradients everywhere (V diag(ḡ) Vᵀ, U diag(ḡ) Vh). The eigenvectors and singular
# vectors divide by the gaps λ_j − λ_i (s_j² − s_i²) and, for a non-square SVD, by
# s_i: at repeated (or, for U/V of a non-square matrix, zero) values they are not
# differentiable, and, as in PyTorch and JAX, their gradients hold inf/NaN there
# rather than raise; a gap of round-off size gives huge finite values. A cotangent that
# never reaches the degenerate pair contributes zero.


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """The eigendecomposition ``A = V diag(λ) Vᵀ`` of a symmetric matrix or batch
    (``[..., n, n]``), reading only the lower (``UPLO='L'``) or upper triangle:
    eigenvalues ascending, each eigenvector with its largest-magnitude component
    positive (NOTE [spectral conventions] in this module). Cyclic Jacobi in float64
    (Householder tridiagonalisation + QL above n = 32), accurate to round-off relative
    to ``‖A‖``. The gradient is returned symmetric, as
    PyTorch does; through the eigenvectors it is inf/NaN where eigenvalues repeat (NOTE
    [degenerate spectra]). RuntimeError for NaN or inf in ``A``.

    >>> A = lucid.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=lucid.float64)
    >>> L, V = lucid.linalg.eigh(A)
    >>> L
    tensor([1., 3.], dtype=lucid.float64)
    >>> bool(((V @ L.diag_embed() @ V.mT) - A).abs().max() < 1e-12)
    True
    """
    w, v = _core.linalg_eigh(_matrix("eigh", A), _uplo("eigh", UPLO))
    return EighResult(w, v)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues of a symmetric matrix or batch, ascending (``eigh`` without the
    vectors). Their gradient ``V diag(ḡ) Vᵀ`` is finite even at repeated eigenvalues.

    >>> lucid.linalg.eigvalsh(lucid.eye(3) * 2.0)
    tensor([2., 2., 2.])
    """
    return _core.linalg_eigvalsh(_matrix("eigvalsh", A), _uplo("eigvalsh", UPLO))


def svd(A: Tensor, full_matrices: bool = True) -> SVDResult:
    """The singular value decomposition ``A = U diag(S) Vh`` of a matrix or batch
    (``[..., m, n]``, ``k = min(m, n)``): ``S`` descending, ``U`` ``[..., m, m]`` and
    ``Vh`` ``[..., n, n]`` (``[..., m, k]`` and ``[..., k, n]`` with
    ``full_matrices=False``), each left singular vector with its largest-magnitude
    component positive. One-sided Jacobi in float64. Gradients follow PyTorch's
    ``svd_backward`` (the columns of a full ``U``/``Vh`` past ``k`` are ignored, as
    there); they are inf/NaN where singular values repeat (NOTE [degenerate spectra]).
    The loss must not depend on the sign of a singular-vector pair (it is arbitrary).

    >>> U, S, Vh = lucid.linalg.svd(lucid.tensor([[3.0, 0.0], [0.0, -4.0]]))
    >>> S
    tensor([4., 3.])
    >>> (U @ S.diag_embed() @ Vh).tolist()
    [[3.0, 0.0], [0.0, -4.0]]
    """
    if not isinstance(full_matrices, bool):
        raise TypeError(f"svd: full_matrices must be a bool, got {type(full_matrices).__name__}")
    u, s, vh = _core.linalg_svd(_matrix("svd", A), full_matrices)
    return SVDResult(u, s, vh)


def svdvals(A: Tensor) -> Tensor:
    """The singular values of a matrix or batch, descending. Their gradient
    ``U diag(ḡ) Vh`` is finite even at repeated singular values.

    >>> lucid.linalg.svdvals(lucid.tensor([[0.0, 2.0], [1.0, 0.0]]))
    tensor([2., 1.])
    """
    return _core.linalg_svdvals(_matrix("svdvals", A))


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """The QR factorization ``A = Q R`` of a matrix or batch (``[..., m, n]``,
    ``k = min(m, n)``) by Householder reflections, ``R``'s diagonal non-negative.
    ``mode``: ``'reduced'`` (``Q [..., m, k]``, ``R [..., k, n]``), ``'complete'``
    (``Q [..., m, m]``, ``R [..., m, n]``) or ``'r'`` (``R`` only, ``Q`` empty).
    Differentiable (both modes of AD, any order) where ``R`` is invertible, except with
    ``mode='r'`` and with ``mode='complete'`` for ``m > n`` (RuntimeError, as PyTorch).

    >>> Q, R = lucid.linalg.qr(lucid.tensor([[3.0, 1.0], [4.0, 2.0]]))
    >>> R
    tensor([[5. , 2.2],
            [0. , 0.4]])
    """
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}")
    q, r = _core.linalg_qr(_matrix("qr", A), mode)
    return QRResult(q, r)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None) -> LstsqResult:
    """The minimum-norm least-squares solution ``X`` of ``A X ≈ B`` (``A [..., m, n]``,
    ``B [..., m, k]`` or a vector ``[..., m]``; batch dims broadcast), as
    ``torch.linalg.lstsq`` on CPU.

    Every driver computes the same minimum-norm solution (through the SVD, so rank
    deficient ``A`` is handled by all of them); ``driver`` (default ``'gelsy'``)
    decides which other fields are filled, as PyTorch documents: ``rank`` for
    ``'gelsy'``, ``'gelsd'``, ``'gelss'``; ``singular_values`` for ``'gelsd'`` and
    ``'gelss'``; ``residuals`` (``‖A X − B‖²`` per column) for every driver when
    ``m > n`` and every matrix has full rank. Unfilled fields are empty tensors.
    ``'gels'`` assumes full rank and raises RuntimeError otherwise. The rank counts the
    singular values above ``rcond · s_max`` (default ``rcond``: machine epsilon of the
    dtype times ``max(m, n)``).

    Gradients: for full-rank ``A`` the solution is composed from ``qr`` and a
    triangular solve, so it is differentiable in ``A`` and ``B`` to any order. For
    rank-deficient ``A`` it goes through the SVD truncated at the rank, which is
    differentiable while the rank stays fixed (inf/NaN where nonzero singular values
    repeat, NOTE [degenerate spectra]).

    >>> A = lucid.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> X, residuals, rank, _ = lucid.linalg.lstsq(A, lucid.tensor([[1.0], [2.0], [3.0]]))
    >>> X, residuals, rank
    (tensor([[1.],
            [2.]]), tensor([9.]), tensor(2))
    """
    driver = "gelsy" if driver is None else driver
    if driver not in _DRIVERS:
        raise ValueError(f"lstsq: driver must be one of {', '.join(map(repr, _DRIVERS))} or None, got {driver!r}")
    if rcond is not None and (isinstance(rcond, bool) or not isinstance(rcond, (int, float))):
        raise TypeError(f"lstsq: rcond must be a float or None, got {type(rcond).__name__}")
    A = _matrix("lstsq", A)
    x, residuals, rank, sv = _core.linalg_lstsq(A, _matrix("lstsq", B), None if rcond is None else float(rcond))
    k = min(A.shape[-2], A.shape[-1])
    if driver == "gels" and bool((rank < k).any()):
        raise RuntimeError(f"lstsq: driver 'gels' needs every matrix of full rank {k}, got ranks {rank.tolist()}; "
                           "use 'gelsy' or 'gelsd' for rank-deficient problems")
    if driver not in ("gelsd", "gelss"):
        sv = _core.full([0], 0.0, A.dtype)
    if driver == "gels":
        rank = _core.full([0], 0.0, _core.int64)
    return LstsqResult(x, residuals, rank, sv)


def matrix_rank(A: Tensor, tol: float | None = None, hermitian: bool = False) -> Tensor:
    """The number of singular values above ``tol`` (default: ``max(m, n) · eps · s_max``,
    as NumPy and PyTorch), int64 of shape ``A.shape[:-2]``. No gradient.

    >>> lucid.linalg.matrix_rank(lucid.tensor([[1.0, 2.0], [2.0, 4.0]]))
    tensor(1)
    """
    A = _matrix("matrix_rank", A)
    prev = _core.set_grad_enabled(False)
    try:
        s = svdvals(A) if not hermitian else eigvalsh(A).abs()
    finally:
        _core.set_grad_enabled(prev)
    if not s.shape[-1]:
        return _core.full(list(A.shape[:-2]), 0.0, _core.int64)
    if tol is None:
        eps = 1.1920928955078125e-07 if A.dtype == _core.float32 else 2.220446049250313e-16
        cutoff = s.amax(-1, keepdim=True) * (eps * max(A.shape[-2], A.shape[-1]))
        return (s > cutoff).sum(-1)
    return (s > float(tol)).sum(-1)


def pinv(A: Tensor, rcond: float | None = None) -> Tensor:
    """The Moore–Penrose pseudo-inverse ``V S⁺ Uᵀ`` (singular values below
    ``rcond · s_max`` treated as zero; default ``rcond`` as ``lstsq``'s). Differentiable
    as ``lstsq``: smooth for full-rank ``A``.

    >>> lucid.linalg.pinv(lucid.tensor([[2.0, 0.0], [0.0, 0.0]]))
    tensor([[0.5, 0. ],
            [0. , 0. ]])
    """
    A = _matrix("pinv", A)
    eye = _core.identity(A.shape[-2], None, A.dtype)
    # B as a batch of matrices always (a 2-D B of shape A.shape[:-1] would read as vectors)
    return lstsq(A, eye if A.ndim == 2 else eye.expand(*A.shape[:-2], A.shape[-2], A.shape[-2]), rcond).solution


def cond(A: Tensor, p: float | str | None = None) -> Tensor:
    """The condition number ``s_max / s_min`` (``p=None`` or 2), ``s_min / s_max`` (-2),
    or ``‖A‖_p ‖A⁻¹‖_p`` for the other matrix norms (``'fro'``, ``'nuc'``, ±1, ±inf).

    >>> lucid.linalg.cond(lucid.tensor([[4.0, 0.0], [0.0, 2.0]]))
    tensor(2.)
    """
    A = _matrix("cond", A)
    if p is None or p == 2 or p == -2:
        s = svdvals(A)
        ratio = s[..., 0] / s[..., -1]
        return ratio if p != -2 else 1 / ratio
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


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
    and ``inf``/``-inf`` (the same of rows), and from the singular values ``'nuc'``
    (their sum), ``2`` (the largest) and ``-2`` (the smallest); the gradients of these
    are those of ``svdvals``, finite at repeated singular values.

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
    if (isinstance(ord, str) and ord == "nuc") or (not isinstance(ord, (str, bool)) and ord in (2, -2)):
        # the matrix dims moved last, so the singular values come in place of them
        rest = [d for d in range(A.ndim) if d not in (d0, d1)]
        s = svdvals(A.permute(*rest, d0, d1))
        out = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        return out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1)) if keepdim else out
    induced = {1: (d0, d1, True), -1: (d0, d1, False), _INF: (d1, d0, True), -_INF: (d1, d0, False)}
    if isinstance(ord, str) or ord not in induced:
        raise ValueError(f"matrix_norm: ord={ord!r} is not supported; use 'fro', 'nuc', 1, -1, 2, -2, inf or -inf")
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
