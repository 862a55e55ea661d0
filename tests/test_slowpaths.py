"""Issue 19's slow paths, kept exact while made fast.

- Row gathers: positions built as sums of per-dim offsets, and leading full slices
  (``x[:, idx]``, ``x[..., idx]``) kept as leading dims of the gather. Values against
  NumPy for the index expressions that take each branch, errors naming the op, and the
  derivatives (VJP scatter-add, JVP on a tangent batch) against NumPy and central
  differences.
- Slices of one leaf: a slice's cotangent kept as its window (NOTE [embedded rows]) and
  written once. Jacobians through many slices of one tensor equal those of the same
  function of separate leaves, in reverse mode, vectorized, forward mode and with
  create_graph, and central differences; ``grad``/``backward`` (no batch dim) too.
"""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.autograd import gradcheck, jacobian

RNG = np.random.default_rng(19)


def _t(a, requires_grad=False):
    return lucid.tensor(np.asarray(a), requires_grad=requires_grad)


# ---- gathers: values --------------------------------------------------------------

X = RNG.standard_normal((4, 5, 6))
I = np.array([3, -1, 0, 2, 2, -5])          # negative entries count from the end
J = np.array([[0, 5], [-6, 1]])
M = RNG.standard_normal((4, 5)) > 0

KEYS = {
    "rows": lambda i, j, m: (i[:4],),
    "rows negative": lambda i, j, m: (-(np.abs(i) % 4) - 1,),
    "middle dim (lead kept)": lambda i, j, m: (slice(None), i),
    "last dim via ellipsis (lead kept)": lambda i, j, m: (Ellipsis, j),
    "partial slice before (no lead)": lambda i, j, m: (slice(1, None), i),
    "reversed slice before": lambda i, j, m: (slice(None, None, -1), i),
    "new axis before": lambda i, j, m: (None, slice(None), i),
    "int with tensor": lambda i, j, m: (0, i),
    "2-d index": lambda i, j, m: (slice(None), slice(None), j),
    "non-adjacent (R first)": lambda i, j, m: (i[:2] % 4, slice(None), j[0]),
    "broadcast pair": lambda i, j, m: (np.array([[0], [3]]), slice(None), np.array([1, 2, -1])),
    "mask": lambda i, j, m: (m,),
    "mask after slice": lambda i, j, m: (slice(None), m[0]),
    "0-d index": lambda i, j, m: (slice(None), np.array(2)),
    "empty index": lambda i, j, m: (slice(None), np.array([], dtype=np.int64)),
}


def _lucid_key(key):
    return tuple(_t(k) if isinstance(k, np.ndarray) else k for k in key)


@pytest.mark.parametrize("name", list(KEYS))
def test_advanced_index_values_match_numpy(name):
    key = KEYS[name](I, J, M)
    got = _t(X)[_lucid_key(key)]
    want = X[key]
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


def test_int32_index_arrays_and_lists_match_numpy():
    idx = np.array([4, 0, -2], dtype=np.int32)
    np.testing.assert_array_equal(_t(X)[:, idx].numpy(), X[:, idx])
    np.testing.assert_array_equal(_t(X)[[1, -1]].numpy(), X[[1, -1]])


def test_row_gathers_agree_with_numpy():
    v = RNG.standard_normal((100, 3))
    idx = RNG.integers(0, 100, 500)
    vl, il = _t(v), _t(idx)
    np.testing.assert_array_equal(vl[il].numpy(), v[idx])
    np.testing.assert_array_equal(vl.index_select(0, il).numpy(), np.take(v, idx, axis=0))
    np.testing.assert_array_equal(vl.index_select(1, _t([2, 0])).numpy(), v[:, [2, 0]])
    idx2 = np.repeat(idx[:, None], 3, axis=1)
    np.testing.assert_array_equal(vl.gather(0, _t(idx2)).numpy(), np.take_along_axis(v, idx2, axis=0))
    # a smaller index than the input outside dim (PyTorch's gather addressing)
    small = RNG.integers(0, 3, (7, 2))
    want = v[np.arange(7)[:, None], small]
    np.testing.assert_array_equal(vl.gather(1, _t(small)).numpy(), want)


@pytest.mark.parametrize("call, message", [
    (lambda v: v[_t([0, 100])], "index 100 is out of bounds for dim 0 with size 100"),
    (lambda v: v[:, _t([3])], "index 3 is out of bounds for dim 1 with size 3"),
    (lambda v: v[_t([-101])], "index -101 is out of bounds for dim 0 with size 100"),
    (lambda v: v.index_select(0, _t([1, -1])), "index_select: index -1 is out of bounds"),
    (lambda v: v.gather(0, _t([[0, 0, 100]])), "gather: index 100 is out of bounds for dim 0 with size 100"),
    (lambda v: v.gather(1, _t([[-1]])), "gather: index -1 is out of bounds for dim 1 with size 3"),
])
def test_gather_bounds_errors_name_the_op(call, message):
    with pytest.raises(IndexError, match=message.replace("[", r"\[")):
        call(_t(np.zeros((100, 3))))


# ---- gathers: derivatives ---------------------------------------------------------

def test_row_gather_vjp_is_a_scatter_add_of_rows():
    v = RNG.standard_normal((50, 3))
    idx = RNG.integers(-50, 50, 400)   # repeats and negatives
    g = RNG.standard_normal((400, 3))
    vl = _t(v, requires_grad=True)
    (gv,) = lucid.autograd.grad(vl[_t(idx)], vl, _t(g))
    want = np.zeros_like(v)
    np.add.at(want, idx, g)
    np.testing.assert_allclose(gv.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("key", [
    lambda i: (i,), lambda i: (slice(None), i), lambda i: (Ellipsis, i % 3), lambda i: (slice(None, None, -1), i % 3),
])
def test_gather_jacobians_every_mode_agree_with_central_differences(key):
    x = _t(RNG.standard_normal((4, 3)))
    i = _t(np.array([2, -1, 0, 2]))
    f = lambda x: x[key(i)] * x[key(i)]  # noqa: E731  (a gather read twice, squared)
    ref = jacobian(f, x, strategy="reverse-mode").numpy()
    for kw in ({"strategy": "forward-mode"}, {"vectorize": True}, {"create_graph": True}):
        np.testing.assert_allclose(jacobian(f, x, **kw).detach().numpy(), ref, rtol=1e-12, atol=1e-12)
    assert gradcheck(f, (x,))


def test_forward_mode_gathers_a_tangent_batch_once():
    # theta (k,) -> V(theta) (n, 3) -> V[idx]: the tangent batch (k, n, 3) is gathered
    k, n = 5, 40
    B = RNG.standard_normal((k, n * 3))
    idx = RNG.integers(0, n, 70)
    th = _t(RNG.standard_normal(k))
    f = lambda th: (th @ _t(B)).reshape(n, 3)[_t(idx)]  # noqa: E731
    want = B.reshape(k, n, 3)[:, idx].reshape(k, -1).T
    for strategy in ("forward-mode", "reverse-mode"):
        np.testing.assert_allclose(jacobian(f, th, strategy=strategy).numpy(), want, rtol=1e-12, atol=1e-12)


# ---- slices of one leaf -----------------------------------------------------------

def _product_of_rows(rows, w):
    p = rows[0]
    for r in rows[1:]:
        p = p * r
    return lucid.stack([(p * w[j]).sum() for j in range(w.shape[0])])


@pytest.mark.parametrize("kw", [{}, {"vectorize": True}, {"strategy": "forward-mode"}, {"create_graph": True}],
                         ids=["reverse", "vectorized", "forward", "create_graph"])
def test_jacobian_through_many_slices_equals_separate_leaves(kw):
    parts, n = 11, 37
    C = RNG.uniform(0.5, 1.5, (parts, n))
    w = _t(RNG.standard_normal((3, n)))
    one = jacobian(lambda M: _product_of_rows([M[k] for k in range(parts)], w), _t(C), **kw)
    sep = jacobian(lambda *rows: _product_of_rows(list(rows), w), tuple(_t(C[k]) for k in range(parts)), **kw)
    want = np.concatenate([s.detach().numpy() for s in sep], axis=1)
    np.testing.assert_allclose(one.detach().numpy(), want, rtol=1e-12, atol=1e-12)


def _windows(C):
    # same window twice, overlapping ranges, strides, negative steps, ints, None, the
    # whole tensor read directly (a dense part beside the windows)
    return (C[0] * C[0] * C[1] + C[1:3].sum(0) * C[2:4].prod(0) + C[:, ::2].sum(1).sum() * C[-1]
            + C[::-2, 1:].sum(0).sum() + C[None, 3, ::-1].sum() * C.sum(0) + C[2, 4])


@pytest.mark.parametrize("kw", [{}, {"vectorize": True}, {"strategy": "forward-mode"}, {"create_graph": True},
                                {"vectorize": True, "chunk_size": 2}],
                         ids=["reverse", "vectorized", "forward", "create_graph", "chunked"])
def test_jacobian_through_mixed_windows_agrees_with_central_differences(kw):
    C = _t(RNG.uniform(0.5, 1.5, (5, 6)))
    J = jacobian(_windows, C, **kw).detach().numpy()
    assert gradcheck(_windows, (C,))
    np.testing.assert_allclose(J, jacobian(_windows, C, strategy="forward-mode").numpy(), rtol=1e-11, atol=1e-12)


def test_slices_of_an_intermediate_and_float32():
    A = RNG.uniform(0.5, 1.5, (4, 6))
    f = lambda A: (A * 2.0)[1] * (A * 2.0)[3] + (A.exp())[0, ::-1]  # noqa: E731
    for dtype in (np.float64, np.float32):
        a = _t(A.astype(dtype))
        J = jacobian(f, a).numpy()
        assert J.dtype == dtype
        np.testing.assert_allclose(J, jacobian(f, a, strategy="forward-mode").numpy(),
                                   rtol=1e-5 if dtype == np.float32 else 1e-12)
    assert gradcheck(f, (_t(A),))


def test_grad_and_backward_through_slices_have_no_batch_dim():
    x = _t(RNG.standard_normal(6), requires_grad=True)
    y = x[2] * x[4] + (x[1:4] ** 2).sum() + x[None, ::-1][0, 0]   # a 0-d window, a 1-d one, a reversed one
    (g,) = lucid.autograd.grad(y, x, retain_graph=True)
    xv = x.detach().numpy()
    want = np.zeros(6)
    want[2] += xv[4]
    want[4] += xv[2]
    want[1:4] += 2 * xv[1:4]
    want[5] += 1.0
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-12)
    y.backward()
    y2 = x[0] * 3.0
    y2.backward()    # accumulates into .grad
    want[0] += 3.0
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-12)
    s = _t(np.float64(2.0), requires_grad=True)   # a 0-d leaf behind a new axis
    (gs,) = lucid.autograd.grad((s[None] * s[None]).sum(), s)
    assert gs.shape == () and gs.item() == 4.0


def test_hessian_through_slices():
    # f = x0 x1² + sum(x[1:]³): H = [[0, 2x1, 0], [2x1, 2x0 + 6x1, 0], [0, 0, 6x2]]
    x = _t(np.array([0.5, -1.5, 2.0]))
    f = lambda x: x[0] * x[1] * x[1] + (x[1:] ** 3).sum()  # noqa: E731
    x0, x1, x2 = x.numpy()
    want = np.array([[0, 2 * x1, 0], [2 * x1, 2 * x0 + 6 * x1, 0], [0, 0, 6 * x2]])
    for kw in ({}, {"vectorize": True}):
        np.testing.assert_allclose(lucid.autograd.hessian(f, x, **kw).numpy(), want, rtol=1e-12, atol=1e-12)
