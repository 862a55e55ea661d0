"""Conformance entries for reductions (prod, max/min, var/std, norm, logsumexp),
softmax/log_softmax and the scans cumsum/cumprod."""

import numpy as np

import lucid

from . import OpCase


def _with_zeros(count):
    """Samples with `count` entries set to exactly zero (prod/cumprod at zeros)."""
    def make(r, s, i):
        a = r.uniform(-2, 2, size=s)
        flat = a.reshape(-1)
        flat[r.choice(flat.size, size=min(count, flat.size), replace=False)] = 0.0
        return flat.reshape(s)
    return make


def _tied_rows(r, s, i):
    """Rows whose maximum (and minimum) appears exactly twice: the tied pair shares the
    cotangent, which central differences see as 1/2 each."""
    a = r.uniform(-1, 1, size=s)
    a[..., 0] = a[..., 1] = 2.0
    a[..., 2] = a[..., 3] = -2.0
    return a


def _softmax(x, axis):
    if x.ndim == 0:
        return np.ones(())
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _log_softmax(x, axis):
    if x.ndim == 0:
        return np.zeros(())
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _cum(fn):
    return lambda x, axis: fn(x, axis=axis) if x.ndim else x.copy()


CASES = [
    OpCase("prod_all", lambda x: x.prod(), np.prod, [((2, 3),), ((),), ((5,),)]),
    OpCase("prod_dim", lambda x: lucid.prod(x, 1), lambda x: x.prod(1), [((2, 3),), ((2, 3, 4),)], domain=(-1.5, 1.5)),
    OpCase("prod_neg_dims_keepdim", lambda x: x.prod((0, -1), keepdim=True), lambda x: x.prod((0, 2), keepdims=True), [((2, 3, 2),)]),
    OpCase("prod_one_zero", lambda x: x.prod(-1), lambda x: x.prod(-1), [((4,),), ((2, 4),)], make=_with_zeros(1)),
    OpCase("prod_two_zeros", lambda x: x.prod(), np.prod, [((4,),), ((2, 3),)], make=_with_zeros(2)),
    OpCase("amax_all", lambda x: x.amax(), np.max, [((2, 3),), ((),)]),
    OpCase("amax_dims_keepdim", lambda x: lucid.amax(x, (0, 2), keepdim=True), lambda x: x.max((0, 2), keepdims=True), [((2, 3, 4),)]),
    OpCase("amin_dim", lambda x: x.amin(-1), lambda x: x.min(-1), [((2, 3),)]),
    OpCase("max_all", lambda x: lucid.max(x), np.max, [((2, 3),)]),
    OpCase("max_dim_values", lambda x: x.max(1).values, lambda x: x.max(1), [((2, 3),), ((2, 3, 4),)]),
    OpCase("min_dim_keepdim", lambda x: lucid.min(x, 0, keepdim=True)[0], lambda x: x.min(0, keepdims=True), [((2, 3),)]),
    # two-way ties: the pair splits the cotangent (1/2 each); not twice differentiable there
    OpCase("amax_tied", lambda x: x.amax(-1), lambda x: x.max(-1), [((5,),), ((2, 5),)], make=_tied_rows, smooth=False),
    OpCase("amin_tied", lambda x: x.min(-1).values, lambda x: x.min(-1), [((2, 5),)], make=_tied_rows, smooth=False),
    OpCase("var", lambda x: x.var(), lambda x: np.var(x, ddof=1), [((2, 3),), ((5,),)]),
    OpCase("var_dim_unbiased_false", lambda x: x.var(1, unbiased=False), lambda x: np.var(x, 1), [((2, 3),)]),
    OpCase("var_correction_keepdim", lambda x: lucid.var(x, (0, -1), keepdim=True, correction=2),
           lambda x: np.var(x, (0, 2), ddof=2, keepdims=True), [((2, 3, 2),)]),
    OpCase("std", lambda x: x.std(), lambda x: np.std(x, ddof=1), [((2, 3),)]),
    OpCase("std_dim", lambda x: lucid.std(x, 0, correction=0), lambda x: np.std(x, 0), [((3, 2),), ((3, 2, 2),)]),
    OpCase("norm_fro_default", lambda x: x.norm(), lambda x: np.sqrt((x ** 2).sum()), [((2, 3),), ((4,),)]),
    OpCase("norm2_dim", lambda x: x.norm(2, dim=1), lambda x: np.linalg.norm(x, 2, axis=1), [((2, 3),)]),
    OpCase("norm_fro_matrix_dims", lambda x: lucid.norm(x, "fro", dim=(-2, -1)), lambda x: np.linalg.norm(x, "fro", axis=(-2, -1)), [((2, 3, 4),)]),
    OpCase("norm1", lambda x: x.norm(1, dim=-1, keepdim=True), lambda x: np.linalg.norm(x, 1, axis=-1, keepdims=True), [((2, 3),)],
           make=lambda r, s, i: r.choice([-1, 1], size=s) * r.uniform(0.2, 2, size=s)),
    OpCase("norm3", lambda x: x.norm(3), lambda x: (np.abs(x) ** 3).sum() ** (1 / 3), [((2, 3),)]),
    OpCase("norm_inf", lambda x: x.norm(float("inf"), dim=0), lambda x: np.abs(x).max(0), [((3, 2),)]),
    OpCase("norm_neg_inf", lambda x: x.norm(float("-inf")), lambda x: np.abs(x).min(), [((4,),)],
           make=lambda r, s, i: r.choice([-1, 1], size=s) * r.uniform(0.2, 2, size=s)),
    OpCase("logsumexp_all", lambda x: x.logsumexp(), _logsumexp, [((2, 3),), ((),)]),
    OpCase("logsumexp_dim", lambda x: lucid.logsumexp(x, 1), lambda x: _logsumexp(x, 1), [((2, 3),), ((2, 3, 4),)]),
    OpCase("logsumexp_large_keepdim", lambda x: x.logsumexp((0, -1), keepdim=True), lambda x: _logsumexp(x, (0, 2), True), [((2, 3, 2),)],
           domain=(500.0, 504.0), f32_rtol=1e-6),
    OpCase("softmax_last", lambda x: x.softmax(-1), lambda x: _softmax(x, -1), [((3,),), ((2, 3),), ((),)]),
    OpCase("softmax_dim0", lambda x: lucid.softmax(x, 0), lambda x: _softmax(x, 0), [((2, 3),), ((3, 2, 2),)]),
    OpCase("softmax_large", lambda x: x.softmax(1), lambda x: _softmax(x, 1), [((2, 3),)], domain=(300.0, 303.0)),
    OpCase("log_softmax", lambda x: x.log_softmax(1), lambda x: _log_softmax(x, 1), [((2, 3),), ((2, 3, 2),)]),
    OpCase("log_softmax_last", lambda x: lucid.log_softmax(x, dim=-1), lambda x: _log_softmax(x, -1), [((4,),), ((),)]),
    OpCase("cumsum", lambda x: x.cumsum(0), lambda x: _cum(np.cumsum)(x, 0), [((4,),), ((3, 2),), ((),)]),
    OpCase("cumsum_last", lambda x: lucid.cumsum(x, -1), lambda x: np.cumsum(x, -1), [((2, 3),), ((2, 3, 2),)]),
    OpCase("cumprod", lambda x: x.cumprod(0), lambda x: _cum(np.cumprod)(x, 0), [((4,),), ((3, 2),), ((),)]),
    OpCase("cumprod_last", lambda x: lucid.cumprod(x, -1), lambda x: np.cumprod(x, -1), [((2, 3),), ((2, 4, 2),)]),
    OpCase("cumprod_zeros", lambda x: x.cumprod(-1), lambda x: np.cumprod(x, -1), [((5,),), ((2, 4),)], make=_with_zeros(1)),
    OpCase("cumprod_two_zeros", lambda x: x.cumprod(0), lambda x: np.cumprod(x, 0), [((5,),), ((4, 2),)], make=_with_zeros(2)),
    # sorting: the values are a gather by the sorting indices
    # (the recorded gather's positions depend on the values: another point records another graph)
    OpCase("sort_values", lambda x: x.sort().values, lambda x: np.sort(x, -1), [((5,),), ((2, 4),)],
           tags={"graph_depends_on_values"}),
    OpCase("sort_descending_dim0", lambda x: lucid.sort(x, 0, descending=True).values, lambda x: -np.sort(-x, 0),
           [((4, 3),)], tags={"graph_depends_on_values"}),

]
