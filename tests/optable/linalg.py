"""Conformance entries for linear algebra: checked products, einsum, diagonals and
triangles, inverse, determinants, solve and Cholesky.

Matrices for inv/det/solve are 3I plus small noise (Gershgorin keeps every
eigenvalue's real part above 1.5 for n <= 3, so they stay far from singular and
det > 0); Cholesky inputs are symmetric positive definite. The finite-difference
checks perturb entries one at a time, so the Cholesky cases symmetrise inside the
function, as a user differentiating a covariance would.
"""

import numpy as np

import lucid

from . import OpCase


def _well_conditioned(rng, shape, i):
    return 3 * np.eye(shape[-1]) + rng.uniform(-0.5, 0.5, size=shape)


def _negative_det(rng, shape, i):
    a = _well_conditioned(rng, shape, i)
    a[..., 0, :] *= -1
    return a


def _rank_deficient(rng, shape, i):
    # row 1 = 2 * row 0 exactly, so LU meets an exactly zero pivot and det's
    # gradient takes the cofactor path
    a = rng.uniform(-2, 2, size=shape)
    a[..., 1, :] = 2 * a[..., 0, :]
    return a


def _spd(rng, shape, i):
    m = rng.uniform(-1, 1, size=shape)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])


def _system(rng, shape, i):
    return _well_conditioned(rng, shape, i) if i == 0 else rng.uniform(-2, 2, size=shape)


def _diag_embed(x, offset=0):
    n = x.shape[-1] + abs(offset)
    out = np.zeros(x.shape[:-1] + (n, n))
    r, c = max(-offset, 0), max(offset, 0)
    for k in range(x.shape[-1]):
        out[..., r + k, c + k] = x[..., k]
    return out


def _sym(a):
    return (a + a.mT) / 2


def _np_sym(a):
    return (a + np.swapaxes(a, -1, -2)) / 2


def _separated_symmetric(rng, shape, i):
    """A symmetric matrix with eigenvalues 1, 2.5, 4, ... (gaps of 1.5, far from
    degenerate) in a random orthonormal basis."""
    n = shape[-1]
    q, _ = np.linalg.qr(rng.normal(size=shape))
    return (q * (1 + 1.5 * np.arange(n))[..., None, :]) @ np.swapaxes(q, -1, -2)


def _separated_singular(rng, shape, i):
    """A matrix with singular values 1, 2, 3, ... (distinct, nonzero) and random
    singular vectors."""
    m, n = shape[-2:]
    k = min(m, n)
    u, _ = np.linalg.qr(rng.normal(size=shape[:-2] + (m, k)))
    v, _ = np.linalg.qr(rng.normal(size=shape[:-2] + (n, k)))
    return (u * (1.0 + np.arange(k))[..., None, :]) @ np.swapaxes(v, -1, -2)


def _full_rank(rng, shape, i):
    return _separated_singular(rng, shape, i) if i == 0 else rng.uniform(-2, 2, size=shape)


def _np_qr(a):
    """NumPy's QR with R's diagonal made non-negative (Lucid's convention)."""
    q, r = np.linalg.qr(a)
    d = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    d = np.where(d == 0, 1.0, d)
    return q * d[..., None, :], r * d[..., :, None]


def _spectral_fn(lam, v, f):
    """``V diag(f(λ)) Vᵀ``: invariant under the sign of each eigenvector."""
    return (v * f(lam)[..., None, :]) @ (v.mT if hasattr(v, "mT") else np.swapaxes(v, -1, -2))


def E(name, eq, variants, **kw):
    """An einsum entry checked against NumPy's einsum."""
    return OpCase(f"einsum_{name}", lambda *xs: lucid.einsum(eq, *xs), lambda *xs: np.einsum(eq, *xs), variants, **kw)


CASES = [
    # checked products
    OpCase("dot", lambda a, b: a.dot(b), np.dot, [((3,), (3,))]),
    OpCase("outer", lambda a, b: lucid.outer(a, b), np.outer, [((3,), (4,))]),
    OpCase("mv", lambda a, b: a.mv(b), np.matmul, [((2, 3), (3,))]),
    OpCase("mm", lambda a, b: lucid.mm(a, b), np.matmul, [((2, 3), (3, 4))]),
    OpCase("bmm", lambda a, b: a.bmm(b), np.matmul, [((2, 2, 3), (2, 3, 4))]),
    # einsum
    E("mm", "ij,jk->ik", [((2, 3), (3, 4))]),
    E("implicit", "ij,jk", [((2, 3), (3, 4))]),
    E("bmm", "bij,bjk->bik", [((2, 2, 3), (2, 3, 4))]),
    E("dot", "i,i->", [((3,), (3,))]),
    E("transpose", "ij->ji", [((2, 3),)]),
    E("diag", "ii->i", [((3, 3),)]),
    E("trace", "ii", [((3, 3),)]),
    E("mv", "ij,j->i", [((2, 3), (3,))]),
    E("outer", "i,j->ij", [((3,), (2,))]),
    E("sum_and_reorder", "bij,jk->kb", [((2, 3, 4), (4, 2))]),
    E("batch_diag_product", "bii,bi->b", [((2, 3, 3), (2, 3))]),
    E("upper_letters", "Ab,bC->CA", [((2, 3), (3, 2))]),
    E("ellipsis", "...ij,...jk->...ik", [((2, 2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 4))]),
    E("three_operands", "ij,j,jk->ik", [((2, 3), (3,), (3, 2))]),
    # diagonals and triangles
    OpCase("trace", lambda x: x.trace(), np.trace, [((3, 3),), ((2, 4),)]),
    OpCase("diagonal", lambda x: x.diagonal(), lambda x: np.diagonal(x).copy(), [((3, 4),), ((2, 2, 3),)]),
    OpCase("diagonal_offset", lambda x: x.diagonal(1), lambda x: np.diagonal(x, 1).copy(), [((3, 4),)]),
    OpCase("diagonal_dims", lambda x: lucid.diagonal(x, -1, 2, 0), lambda x: np.diagonal(x, -1, 2, 0).copy(), [((3, 2, 4),)]),
    OpCase("diag_vector", lambda x: lucid.diag(x, 1), lambda x: np.diag(x, 1), [((3,),)]),
    OpCase("diag_matrix", lambda x: x.diag(-1), lambda x: np.diag(x, -1), [((3, 3),), ((2, 4),)]),
    OpCase("diag_embed", lambda x: x.diag_embed(), _diag_embed, [((3,),), ((2, 3),)]),
    OpCase("diag_embed_offset", lambda x: lucid.diag_embed(x, -1), lambda x: _diag_embed(x, -1), [((2, 2),)]),
    OpCase("diag_embed_dims", lambda x: x.diag_embed(0, 0, 2), lambda x: np.moveaxis(_diag_embed(x), (-2, -1), (0, 2)), [((2, 3),)]),
    OpCase("tril", lambda x: x.tril(), np.tril, [((3, 3),), ((2, 3, 4),)]),
    OpCase("tril_offset", lambda x: lucid.tril(x, -1), lambda x: np.tril(x, -1), [((3, 4),)]),
    OpCase("triu", lambda x: x.triu(), np.triu, [((3, 3),), ((2, 4, 3),)]),
    OpCase("triu_offset", lambda x: lucid.triu(x, 1), lambda x: np.triu(x, 1), [((3, 3),)]),
    # inverse, determinants, solve, Cholesky
    OpCase("inverse", lambda x: x.inverse(), np.linalg.inv, [((3, 3),), ((2, 2, 2),), ((1, 1),)], make=_well_conditioned),
    OpCase("linalg_inv", lambda x: lucid.linalg.inv(x), np.linalg.inv, [((2, 3, 3),)], make=_well_conditioned),
    OpCase("det", lambda x: x.det(), np.linalg.det, [((3, 3),), ((2, 2, 2),), ((1, 1),)], make=_well_conditioned),
    OpCase("det_negative", lambda x: lucid.linalg.det(x), np.linalg.det, [((3, 3),)], make=_negative_det),
    OpCase("det_singular", lambda x: x.det(), np.linalg.det, [((3, 3),), ((2, 2, 2),)], make=_rank_deficient),
    OpCase("logdet", lambda x: x.logdet(), lambda x: np.log(np.linalg.det(x)), [((3, 3),), ((2, 2, 2),)], make=_well_conditioned),
    OpCase("slogdet", lambda x: lucid.linalg.slogdet(x).logabsdet, lambda x: np.linalg.slogdet(x)[1], [((3, 3),), ((2, 3, 3),)], make=_negative_det),
    OpCase("slogdet_sign", lambda x: x.slogdet()[0] * x.sum(), lambda x: np.linalg.slogdet(x)[0] * x.sum(), [((3, 3),)], make=_negative_det),
    OpCase("solve_vector", lambda a, b: lucid.solve(a, b), np.linalg.solve, [((3, 3), (3,))], make=_system),
    OpCase("solve_matrix", lambda a, b: lucid.linalg.solve(a, b), np.linalg.solve, [((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1))], make=_system),
    OpCase("solve_broadcast", lambda a, b: lucid.solve(a, b), np.linalg.solve, [((2, 3, 3), (3, 2)), ((3, 3), (2, 3, 2))], make=_system),
    OpCase("solve_vector_batch", lambda a, b: lucid.solve(a, b), lambda a, b: np.linalg.solve(a, b[..., None])[..., 0], [((2, 3, 3), (2, 3))], make=_system),
    OpCase("cholesky", lambda x: lucid.cholesky(_sym(x)), lambda x: np.linalg.cholesky(_np_sym(x)), [((3, 3),), ((2, 3, 3),)], make=_spd),
    OpCase("cholesky_upper", lambda x: lucid.linalg.cholesky(_sym(x), upper=True), lambda x: np.swapaxes(np.linalg.cholesky(_np_sym(x)), -1, -2), [((3, 3),)], make=_spd),
    # cross products and the torch.linalg norms
    OpCase("cross", lambda a, b: lucid.linalg.cross(a, b), lambda a, b: np.cross(a, b), [((3,), (3,)), ((4, 3), (3,)), ((2, 1, 3), (4, 3))]),
    OpCase("cross_dim0", lambda a, b: a.cross(b, dim=0), lambda a, b: np.cross(a, b, axis=0), [((3, 2), (3, 2))]),
    OpCase("vector_norm3", lambda x: lucid.linalg.vector_norm(x, 3, dim=-1), lambda x: np.linalg.norm(x, 3, axis=-1), [((2, 4),)]),
    OpCase("matrix_norm_fro", lambda a: lucid.linalg.matrix_norm(a), lambda a: np.linalg.norm(a, "fro", axis=(-2, -1)), [((2, 3, 4),)]),
    OpCase("matrix_norm_1", lambda a: lucid.linalg.matrix_norm(a, 1), lambda a: np.linalg.norm(a, 1, axis=(-2, -1)), [((3, 4),), ((2, 3, 3),)],
           smooth=False),
    OpCase("matrix_norm_inf_keepdim", lambda a: lucid.linalg.matrix_norm(a, float("inf"), keepdim=True),
           lambda a: np.linalg.norm(a, np.inf, axis=(-2, -1), keepdims=True), [((2, 3, 4),)], smooth=False),
    OpCase("linalg_norm", lambda a: lucid.linalg.norm(a), lambda a: np.linalg.norm(a), [((3, 4),), ((5,),)]),
    OpCase("matrix_norm_nuc", lambda a: lucid.linalg.matrix_norm(a, "nuc"), lambda a: np.linalg.norm(a, "nuc", axis=(-2, -1)),
           [((3, 2),), ((2, 2, 3),)], make=_separated_singular),
    OpCase("matrix_norm_2", lambda a: lucid.linalg.norm(a, 2), lambda a: np.linalg.norm(a, 2), [((3, 4),)], make=_separated_singular),
    OpCase("matrix_norm_minus2_dims", lambda a: lucid.linalg.matrix_norm(a, -2, dim=(0, 2)),
           lambda a: np.linalg.norm(np.moveaxis(a, 1, 0), -2, axis=(-2, -1)), [((3, 2, 4),)], make=_separated_singular),
    # spectral factorizations, through functions of the factors that do not depend on the
    # arbitrary sign of each vector (NOTE [spectral conventions] in lucid/linalg.py), on
    # well-separated spectra (NOTE [degenerate spectra]); symmetric inputs symmetrised inside
    OpCase("eigvalsh", lambda x: lucid.linalg.eigvalsh(_sym(x)), lambda x: np.linalg.eigvalsh(_np_sym(x)),
           [((3, 3),), ((2, 4, 4),), ((1, 1),)], make=_separated_symmetric),
    OpCase("eigh_values", lambda x: lucid.linalg.eigh(_sym(x), UPLO="U").eigenvalues, lambda x: np.linalg.eigh(_np_sym(x))[0],
           [((3, 3),)], make=_separated_symmetric),
    OpCase("eigh_function", lambda x: _spectral_fn(*lucid.linalg.eigh(_sym(x)), lambda w: w.sin()),
           lambda x: _spectral_fn(*np.linalg.eigh(_np_sym(x)), np.sin), [((3, 3),), ((2, 3, 3),)], make=_separated_symmetric),
    OpCase("eigh_vectors_squared", lambda x: lucid.linalg.eigh(_sym(x)).eigenvectors ** 2,
           lambda x: np.linalg.eigh(_np_sym(x))[1] ** 2, [((3, 3),)], make=_separated_symmetric),
    OpCase("svdvals", lambda x: lucid.linalg.svdvals(x), lambda x: np.linalg.svd(x, compute_uv=False),
           [((3, 3),), ((2, 4),), ((2, 4, 3),)], make=_separated_singular),
    OpCase("svd_values", lambda x: lucid.linalg.svd(x, full_matrices=False).S, lambda x: np.linalg.svd(x)[1],
           [((3, 2),)], make=_separated_singular),
    OpCase("svd_pairs", lambda x: (lambda u, s, vh: (u * s.sin()[..., None, :]) @ vh)(*lucid.linalg.svd(x, full_matrices=False)),
           lambda x: (lambda u, s, vh: (u * np.sin(s)[..., None, :]) @ vh)(*np.linalg.svd(x, full_matrices=False)),
           [((3, 3),), ((4, 2),), ((2, 4),), ((2, 3, 2),)], make=_separated_singular),
    OpCase("svd_vectors_squared", lambda x: (lambda u, s, vh: lucid.cat([(u ** 2).flatten(), (vh ** 2).flatten()]))(*lucid.linalg.svd(x, full_matrices=False)),
           lambda x: (lambda u, s, vh: np.concatenate([(u ** 2).ravel(), (vh ** 2).ravel()]))(*np.linalg.svd(x, full_matrices=False)),
           [((3, 2),), ((2, 3),), ((3, 3),)], make=_separated_singular),
    OpCase("svd_full_square", lambda x: (lambda u, s, vh: (u ** 2) @ (vh ** 2))(*lucid.linalg.svd(x)),
           lambda x: (lambda u, s, vh: (u ** 2) @ (vh ** 2))(*np.linalg.svd(x)), [((3, 3),)], make=_separated_singular),
    OpCase("qr_reduced", lambda x: lucid.cat([f.flatten() for f in lucid.linalg.qr(x)]),
           lambda x: np.concatenate([f.ravel() for f in _np_qr(x)]), [((3, 3),), ((4, 2),), ((2, 3, 2),), ((2, 4),)], make=_full_rank),
    OpCase("qr_complete_wide", lambda x: lucid.linalg.qr(x, mode="complete").R, lambda x: _np_qr(x)[1], [((2, 3),)], make=_full_rank),
    OpCase("lstsq_tall", lambda a, b: lucid.linalg.lstsq(a, b).solution, lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0],
           [((4, 2), (4, 3)), ((4, 2), (4,))], make=_full_rank),
    OpCase("lstsq_wide", lambda a, b: lucid.linalg.lstsq(a, b).solution, lambda a, b: np.linalg.lstsq(a, b, rcond=None)[0],
           [((2, 4), (2, 3))], make=_full_rank),
    OpCase("lstsq_batch_residuals", lambda a, b: lucid.linalg.lstsq(a, b).residuals,
           lambda a, b: ((a @ np.linalg.pinv(a) @ b - b) ** 2).sum(-2), [((2, 4, 2), (2, 4, 3))], make=_full_rank),

]
