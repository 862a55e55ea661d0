"""Property tests: random compositions of ops on random shapes, differentiated every way
Lucid can (reverse and forward mode, vectorized or not, with and without create_graph,
dense and sparse), agree with each other, with HIPS autograd and with central
differences, and the sparsity pattern holds every nonzero.

``make test`` runs 60 programs. A long run sets ``LUCID_FUZZ_EXAMPLES``:

    LUCID_FUZZ_EXAMPLES=3000 nice .venv/bin/python -m pytest -q tests/test_properties.py
"""

from __future__ import annotations

import os

import autograd
import autograd.numpy as anp
import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import lucid
from lucid.autograd import jacobian, sparsity, vjp

# Smooth unary ops, safe on any real input (domains kept by construction).
UNARY = {
    "sin": (lambda t: t.sin(), lambda a, xp: xp.sin(a)),
    "cos": (lambda t: t.cos(), lambda a, xp: xp.cos(a)),
    "tanh": (lambda t: t.tanh(), lambda a, xp: xp.tanh(a)),
    "sigmoid": (lambda t: t.sigmoid(), lambda a, xp: 1 / (1 + xp.exp(-a))),
    "square": (lambda t: t * t, lambda a, xp: a * a),
    "exp_damped": (lambda t: (t * 0.3).exp(), lambda a, xp: xp.exp(a * 0.3)),
    "softabs": (lambda t: (t * t + 1.0).sqrt(), lambda a, xp: xp.sqrt(a * a + 1.0)),
    "log_pos": (lambda t: (t * t + 1.0).log(), lambda a, xp: xp.log(a * a + 1.0)),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b, xp: a + b),
    "sub": (lambda a, b: a - b, lambda a, b, xp: a - b),
    "mul": (lambda a, b: a * b, lambda a, b, xp: a * b),
    "div_pos": (lambda a, b: a / (b * b + 1.0), lambda a, b, xp: a / (b * b + 1.0)),
}
REDUCE = {
    "sum_last": (lambda t: t.sum(-1, keepdim=True), lambda a, xp: xp.sum(a, -1, keepdims=True)),
    "mean_first": (lambda t: t.mean(0, keepdim=True), lambda a, xp: xp.mean(a, 0, keepdims=True)),
    "none": (lambda t: t, lambda a, xp: a),
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
    """Evaluate the program with lucid tensors (lib='lucid'), NumPy arrays (lib='numpy')
    or HIPS autograd's traced arrays (lib='autograd')."""
    x = a
    if lib == "lucid":
        for u, bop, red in steps:
            x = REDUCE[red][0](BINARY[bop][0](UNARY[u][0](x), b))
        return x
    xp = anp if lib == "autograd" else np
    for u, bop, red in steps:
        x = REDUCE[red][1](BINARY[bop][1](UNARY[u][1](x, xp), b, xp), xp)
    return x


def hips_jacobian(steps, a0, b0, argnum):
    """The (m, n) Jacobian HIPS autograd computes for input `argnum`."""
    J = autograd.jacobian(lambda a, b: run(steps, a, b, "autograd"), argnum)(a0, b0)
    m = run(steps, a0, b0, "numpy").size
    return np.asarray(J).reshape(m, -1)


# Every dense strategy Lucid has: reverse and forward mode, one sweep per line or one
# vectorized sweep (in chunks or not), with create_graph on or off.
STRATEGIES = (
    {"vectorize": True},
    {"vectorize": True, "chunk_size": 3},
    {"strategy": "forward-mode", "vectorize": True},
    {"strategy": "forward-mode", "vectorize": True, "chunk_size": 2},
    {"create_graph": True},
    {"vectorize": True, "create_graph": True},
    {"strategy": "forward-mode", "vectorize": True, "create_graph": True},
)

# The long run: LUCID_FUZZ_EXAMPLES=3000 (see the module docstring).
EXAMPLES = int(os.environ.get("LUCID_FUZZ_EXAMPLES", "60"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
# slopes of 1e4 that turn within 1e-4: the two-point differences once failed here
@example(((1, 4), (1, 4), [("cos", "add", "sum_last"), ("square", "add", "mean_first"),
                           ("exp_damped", "add", "mean_first"), ("cos", "add", "mean_first")], 0))
# |f| ~ 1e13: the stencil's rounding once read a structural zero as -10 (the long run)
@example(((1, 2), (1, 2), [("exp_damped", "add", "mean_first"), ("square", "add", "mean_first"),
                           ("square", "add", "mean_first"), ("exp_damped", "add", "mean_first")], 1))
# exp of exp overflows to inf: J is inf in every strategy (a nonzero weight meets the
# infinity), where HIPS autograd's 0 * inf gives NaN (NOTE [zero in, zero out])
@example(((1, 3), (1, 3), [("exp_damped", "add", "sum_last"), ("square", "add", "sum_last"),
                           ("exp_damped", "add", "mean_first"), ("exp_damped", "add", "mean_first")], 0))
# fifth derivatives of 1e9: the stencil's O(h^4) error was 3e-5 of J (HIPS agreed to 1e-10)
@example(((1, 3), (1, 3), [("exp_damped", "add", "sum_last"), ("square", "add", "sum_last"),
                           ("exp_damped", "add", "mean_first"), ("cos", "add", "mean_first")], 0))
def test_random_programs_all_modes_agree_with_central_differences(prog):
    shape_a, shape_b, steps, seed = prog
    rng = np.random.default_rng(seed)
    a0 = rng.uniform(-1.5, 1.5, size=shape_a)
    b0 = rng.uniform(-1.5, 1.5, size=shape_b)
    f = lambda a, b: run(steps, a, b, "lucid")
    inputs = (lucid.tensor(a0), lucid.tensor(b0))

    value = f(*inputs).numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        np.testing.assert_allclose(value, run(steps, a0, b0, "numpy"), rtol=1e-12, atol=1e-12)

    J = [j.numpy() for j in jacobian(f, inputs)]
    for kwargs in STRATEGIES:
        for got, want in zip(jacobian(f, inputs, **kwargs), J):
            np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-13, err_msg=str(kwargs))

    # sparse results equal the dense one in every direction
    for strategy in ("auto", "forward-mode", "reverse-mode"):
        for got, want in zip(jacobian(f, inputs, sparse=True, strategy=strategy), J):
            np.testing.assert_allclose(got.toarray(), want, rtol=1e-12, atol=1e-13, err_msg=strategy)
    pattern = sparsity(f, inputs).pattern

    # HIPS autograd, an independent reverse mode over the same program in NumPy. Where a
    # value overflowed it computes 0 * inf = NaN for zero weights and Lucid does not
    # (NOTE [zero in, zero out]): there only its finite entries are compared, and
    # central differences mean nothing
    for j in range(2):
        with np.errstate(over="ignore", invalid="ignore"):
            want = hips_jacobian(steps, a0, b0, j)
        finite = np.isfinite(want)
        np.testing.assert_allclose(J[j][finite], want[finite], rtol=1e-10, atol=1e-12)
        assert finite.all() or not np.isfinite(value).all(), "HIPS autograd is not finite on a finite program"
    if not (np.isfinite(value).all() and all(np.isfinite(Jj).all() for Jj in J)):
        return

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
        # plus the stencil's rounding: each of its values is off by an ulp of |f|, so a
        # structural zero reads as up to ~18 ulp(|f|) / (12 eps); at |f| ~ 1e13 that is
        # 10 (a long run found it: J[1, 0] = 0 exactly, agreeing with HIPS autograd)
        rounding = 100 * np.finfo(np.float64).eps * np.abs(value).max() / eps
        # rtol 1e-4: exp of exp has fifth derivatives of 1e9, an O(h^4) error of 3e-5 of J
        # (HIPS autograd above is the exact oracle; this one only needs to catch gross errors)
        np.testing.assert_allclose(J[j], num, rtol=1e-4, atol=1e-6 + rounding)
        # the structural pattern holds every entry central differences see
        missing = (np.abs(num) > 1e-6 + rounding) & (pattern[j].toarray() == 0)
        assert not missing.any(), f"input {j}: entries {np.argwhere(missing)[:3].tolist()} missing from the pattern"

    # vᵀ J from one vjp equals v @ J
    v = rng.normal(size=value.shape)
    _, (ga, gb) = vjp(f, inputs, lucid.tensor(v))
    np.testing.assert_allclose(ga.numpy().ravel(), v.ravel() @ J[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb.numpy().ravel(), v.ravel() @ J[1], rtol=1e-10, atol=1e-12)
