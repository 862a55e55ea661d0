"""Property tests: random compositions of ops on random shapes, differentiated every way
Lucid can (dense and sparse), agree with each other and with central differences, and
the sparsity pattern holds every nonzero."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import lucid
from lucid.autograd import jacobian, sparsity, vjp

# Smooth unary ops, safe on any real input (domains kept by construction).
UNARY = {
    "sin": (lambda t: t.sin(), np.sin),
    "cos": (lambda t: t.cos(), np.cos),
    "tanh": (lambda t: t.tanh(), np.tanh),
    "sigmoid": (lambda t: t.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    "square": (lambda t: t * t, lambda a: a * a),
    "exp_damped": (lambda t: (t * 0.3).exp(), lambda a: np.exp(a * 0.3)),
    "softabs": (lambda t: (t * t + 1.0).sqrt(), lambda a: np.sqrt(a * a + 1.0)),
    "log_pos": (lambda t: (t * t + 1.0).log(), lambda a: np.log(a * a + 1.0)),
}
BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div_pos": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
}
REDUCE = {
    "sum_last": (lambda t: t.sum(-1, keepdim=True), lambda a: a.sum(-1, keepdims=True)),
    "mean_first": (lambda t: t.mean(0, keepdim=True), lambda a: a.mean(0, keepdims=True)),
    "none": (lambda t: t, lambda a: a),
}


@st.composite
def programs(draw):
    """A random straight-line program over two inputs of broadcast-compatible shapes."""
    rows = draw(st.integers(1, 4))
    cols = draw(st.integers(1, 4))
    shape_b = draw(st.sampled_from([(rows, cols), (cols,), (1, cols), (rows, 1)]))
    steps = draw(st.lists(
        st.tuples(st.sampled_from(sorted(UNARY)), st.sampled_from(sorted(BINARY)), st.sampled_from(sorted(REDUCE))),
        min_size=1, max_size=4,
    ))
    seed = draw(st.integers(0, 2 ** 16))
    return (rows, cols), shape_b, steps, seed


def run(steps, a, b, lib):
    """Evaluate the program with lucid tensors (lib='lucid') or NumPy arrays."""
    k = 0 if lib == "lucid" else 1
    x = a
    for u, bop, red in steps:
        x = UNARY[u][k](x)
        x = BINARY[bop][k](x, b)
        x = REDUCE[red][k](x)
    return x


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
# slopes of 1e4 that turn within 1e-4: the two-point differences once failed here
@example(((1, 4), (1, 4), [("cos", "add", "sum_last"), ("square", "add", "mean_first"),
                           ("exp_damped", "add", "mean_first"), ("cos", "add", "mean_first")], 0))
def test_random_programs_all_modes_agree_with_central_differences(prog):
    shape_a, shape_b, steps, seed = prog
    rng = np.random.default_rng(seed)
    a0 = rng.uniform(-1.5, 1.5, size=shape_a)
    b0 = rng.uniform(-1.5, 1.5, size=shape_b)
    f = lambda a, b: run(steps, a, b, "lucid")
    inputs = (lucid.tensor(a0), lucid.tensor(b0))

    value = f(*inputs).numpy()
    np.testing.assert_allclose(value, run(steps, a0, b0, "numpy"), rtol=1e-12, atol=1e-12)

    J = [j.numpy() for j in jacobian(f, inputs)]
    for kwargs in ({"vectorize": True}, {"vectorize": True, "chunk_size": 3}):
        for got, want in zip(jacobian(f, inputs, **kwargs), J):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-13)

    # sparse results equal the dense one in every direction
    for strategy in ("auto", "forward-mode", "reverse-mode"):
        for got, want in zip(jacobian(f, inputs, sparse=True, strategy=strategy), J):
            np.testing.assert_allclose(got.toarray(), want, rtol=1e-12, atol=1e-13, err_msg=strategy)
    pattern = sparsity(f, inputs).pattern

    # five-point central differences (error O(h^4)): composed squares, exp and cos reach
    # slopes of 1e4 that turn over within 1e-4, where the two-point stencil's O(h^2)
    # error alone exceeded the tolerance (a flake hypothesis found in CI's clean clone)
    eps = 1e-6
    for j, base in enumerate((a0, b0)):
        num = np.zeros_like(J[j])
        for e in range(base.size):
            def at(k):
                d = np.zeros(base.size)
                d[e] = k * eps
                args = [a0, b0]
                args[j] = base + d.reshape(base.shape)
                return run(steps, *args, "numpy").ravel()
            num[:, e] = (at(-2) - 8 * at(-1) + 8 * at(1) - at(2)) / (12 * eps)
        np.testing.assert_allclose(J[j], num, rtol=1e-5, atol=1e-6)
        # the structural pattern holds every entry central differences see
        missing = (np.abs(num) > 1e-6) & (pattern[j].toarray() == 0)
        assert not missing.any(), f"input {j}: entries {np.argwhere(missing)[:3].tolist()} missing from the pattern"

    # vᵀ J from one vjp equals v @ J
    v = rng.normal(size=value.shape)
    _, (ga, gb) = vjp(f, inputs, lucid.tensor(v))
    np.testing.assert_allclose(ga.numpy().ravel(), v.ravel() @ J[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb.numpy().ravel(), v.ravel() @ J[1], rtol=1e-10, atol=1e-12)
