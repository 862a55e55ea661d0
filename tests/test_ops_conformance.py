"""Every op in the conformance table (tests/optable) through the same checks."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.autograd import grad, jacobian, jvp, vjp

from optable import all_cases, central_jacobian

CASES = all_cases()
PARAMS = [pytest.param(case, v, id=f"{case.name}-{'x'.join(map(str, v))}") for case in CASES for v in case.variants]


def _tensors(arrays, dtype=np.float64, requires_grad=False):
    return [lucid.tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad) for a in arrays]


def _wrt(case, n):
    return list(case.wrt) if case.wrt is not None else list(range(n))


def _partial(case, arrays, wrt):
    return case.partial(arrays, wrt)


_numeric_jacobian = central_jacobian


def _eval(f, arrays):
    with lucid.no_grad():
        return np.asarray(f(*_tensors(arrays)).numpy(), dtype=np.float64)


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_forward_float32_matches_numpy(case, shapes):
    rng = np.random.default_rng(0)
    arrays = [a.astype(np.float32) for a in case.sample(rng, shapes)]
    out = case.fn(*_tensors(arrays, np.float32))
    expected = case.ref(*[a.astype(np.float64) for a in arrays])
    assert out.dtype == lucid.float32
    assert tuple(out.shape) == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=case.f32_rtol, atol=1e-6)


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_first_derivative_matches_central_differences(case, shapes):
    rng = np.random.default_rng(1)
    arrays = case.sample(rng, shapes)
    wrt = _wrt(case, len(arrays))
    f = _partial(case, arrays, wrt)
    inputs = tuple(_tensors([arrays[i] for i in wrt]))
    analytic = jacobian(f, inputs)
    numeric = _numeric_jacobian(lambda *xs: _eval(f, xs), [arrays[i] for i in wrt])
    for a, n in zip(analytic, numeric):
        np.testing.assert_allclose(a.numpy(), n, rtol=case.rtol, atol=case.atol)


def _row_sweeps(f, inputs):
    """The Jacobian from one plain (batch rank 0) reverse sweep per one-hot row."""
    xs = [x.detach().requires_grad_() for x in inputs]
    y = f(*xs)
    m = y.numel()
    blocks = [np.zeros((m, x.numel())) for x in xs]
    if not y.requires_grad:
        return blocks
    for r in range(m):
        onehot = np.zeros(m)
        onehot[r] = 1.0
        seed = lucid.tensor(onehot.reshape(tuple(y.shape)))
        gs = grad(y, xs, grad_outputs=seed, retain_graph=True, allow_unused=True)
        for b, g in zip(blocks, gs):
            if g is not None:
                b[r] = g.numpy().ravel()
    return blocks


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_batched_cotangents_equal_row_sweeps(case, shapes):
    """A stack of one-hot cotangents through one batched sweep (every mode of jacobian)
    equals one plain sweep per row."""
    rng = np.random.default_rng(2)
    arrays = case.sample(rng, shapes)
    wrt = _wrt(case, len(arrays))
    f = _partial(case, arrays, wrt)
    inputs = tuple(_tensors([arrays[i] for i in wrt]))
    rows = _row_sweeps(f, inputs)
    for kwargs in ({}, {"vectorize": True}, {"vectorize": True, "chunk_size": 2}, {"vectorize": True, "chunk_size": 1}):
        for r, b in zip(rows, jacobian(f, inputs, **kwargs)):
            np.testing.assert_allclose(b.numpy(), r, rtol=1e-12, atol=1e-14, err_msg=str(kwargs))


@pytest.mark.parametrize("case,shapes", [p for p in PARAMS if p.values[0].smooth])
def test_second_derivative_matches_central_differences(case, shapes):
    """d/dx of g(x) = Jᵀu (a gradient built with create_graph) against central
    differences of g: checks every rule's own derivative."""
    rng = np.random.default_rng(3)
    arrays = case.sample(rng, shapes)
    wrt = _wrt(case, len(arrays))
    f = _partial(case, arrays, wrt)
    out_shape = _eval(f, [arrays[i] for i in wrt]).shape
    u = lucid.tensor(rng.uniform(-1, 1, size=out_shape))

    def g(*xs):
        y = f(*xs)
        if not y.requires_grad:
            return lucid.cat([lucid.zeros(x.numel(), dtype=lucid.float64) for x in xs])
        gs = grad(y, xs, grad_outputs=u, create_graph=True, allow_unused=True)
        return lucid.cat([(gi if gi is not None else lucid.zeros_like(x)).reshape(-1) for gi, x in zip(gs, xs)])

    inputs = tuple(_tensors([arrays[i] for i in wrt]))
    analytic = jacobian(g, inputs)

    def g_np(*xs):
        ts = _tensors(xs)
        return np.asarray(g(*[t.requires_grad_() for t in ts]).numpy())

    numeric = _numeric_jacobian(g_np, [arrays[i] for i in wrt])
    for a, n in zip(analytic, numeric):
        np.testing.assert_allclose(a.numpy(), n, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case,shapes", [p for p in PARAMS if any(len(s) >= 2 for s in p.values[1])])
def test_non_contiguous_inputs(case, shapes):
    """Inputs given as transposed views give the same values and Jacobians."""
    rng = np.random.default_rng(4)
    arrays = case.sample(rng, shapes)
    wrt = _wrt(case, len(arrays))
    contiguous = [lucid.tensor(a) for a in arrays]
    views = [lucid.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).transpose(-1, -2) if a.ndim >= 2 else lucid.tensor(a) for a in arrays]
    np.testing.assert_allclose(case.fn(*views).numpy(), case.fn(*contiguous).numpy(), rtol=1e-14, atol=1e-14)

    def via(ts):
        def f(*xs):
            args = list(ts)
            for i, x in zip(wrt, xs):
                args[i] = x
            return case.fn(*args)
        return f

    j_view = jacobian(via(views), tuple(views[i] for i in wrt))
    j_cont = jacobian(via(contiguous), tuple(contiguous[i] for i in wrt))
    for a, b in zip(j_view, j_cont):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_forward_mode_jacobian_equals_reverse(case, shapes):
    """Columns by tangent sweeps (every block size) equal rows by reverse sweeps."""
    rng = np.random.default_rng(5)
    arrays = case.sample(rng, shapes)
    wrt = _wrt(case, len(arrays))
    f = _partial(case, arrays, wrt)
    inputs = tuple(_tensors([arrays[i] for i in wrt]))
    rows = jacobian(f, inputs)
    for kwargs in ({"strategy": "forward-mode"}, {"strategy": "forward-mode", "vectorize": True},
                   {"strategy": "forward-mode", "vectorize": True, "chunk_size": 2}, {"strategy": "auto"}):
        for r, c in zip(rows, jacobian(f, inputs, **kwargs)):
            np.testing.assert_allclose(c.numpy(), r.numpy(), rtol=1e-12, atol=1e-14, err_msg=str(kwargs))


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_jvp_matches_central_differences_and_is_adjoint_to_vjp(case, shapes):
    """jvp against a directional central difference, and ⟨u, J v⟩ = ⟨Jᵀu, v⟩."""
    rng = np.random.default_rng(6)
    arrays = case.sample(rng, shapes)
    wrt = _wrt(case, len(arrays))
    f = _partial(case, arrays, wrt)
    base = [arrays[i] for i in wrt]
    inputs = tuple(_tensors(base))
    v = [rng.normal(size=np.shape(a)) for a in base]
    out, jv = jvp(f, inputs, tuple(lucid.tensor(x) for x in v))
    eps = 1e-6
    plus = _eval(f, [a + eps * d for a, d in zip(base, v)])
    minus = _eval(f, [a - eps * d for a, d in zip(base, v)])
    np.testing.assert_allclose(jv.numpy(), (plus - minus) / (2 * eps), rtol=case.rtol, atol=case.atol)

    u = rng.normal(size=tuple(out.shape))
    _, ju = vjp(f, inputs, lucid.tensor(u))
    lhs = float(np.sum(u * jv.numpy()))
    rhs = float(sum(np.sum(g.numpy() * d) for g, d in zip(ju, v)))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)
