"""Sparse Jacobians and Hessians (``sparse=True``, ``sparsity``): every result equals
the dense one, on every op of the conformance table and on whole programs; the
structural pattern never misses a nonzero (checked against central differences at
random points) and stays the same for every input value; colour counts are optimal on
stencils; the cache is keyed by everything the pattern depends on; bad options are
clear errors before the function runs."""

from __future__ import annotations

import numpy as np
import pytest

sp = pytest.importorskip("scipy.sparse")

import lucid
from lucid.autograd import hessian, jacobian, sparsity, sparsity_cache_clear

from optable import all_cases, central_jacobian

CASES = all_cases()
PARAMS = [pytest.param(case, v, id=f"{case.name}-{'x'.join(map(str, v))}") for case in CASES for v in case.variants]
STRATEGIES = ("auto", "forward-mode", "reverse-mode")


def _check_csr(s, dense):
    assert isinstance(s, sp.csr_array)
    assert s.shape == tuple(dense.shape)
    assert s.has_canonical_format
    s.check_format(full_check=True)
    np.testing.assert_allclose(s.toarray(), dense, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_sparse_jacobian_equals_dense_on_every_op(case, shapes):
    rng = np.random.default_rng(11)
    arrays = case.sample(rng, shapes)
    wrt = case.wrt_of(arrays)
    f = case.partial(arrays, wrt)
    inputs = tuple(lucid.tensor(np.asarray(arrays[i], dtype=np.float64)) for i in wrt)
    dense = jacobian(f, inputs)
    for strategy in STRATEGIES:
        for s, d in zip(jacobian(f, inputs, sparse=True, strategy=strategy), dense):
            _check_csr(s, d.numpy())


@pytest.mark.parametrize("case,shapes", [p for p in PARAMS if "graph_depends_on_values" not in p.values[0].tags])
def test_pattern_never_misses_a_nonzero(case, shapes):
    """At two random points, every entry central differences see is in the pattern
    (the pattern is read once, from the graph recorded at a third point). Ops whose
    recorded graph depends on the values (a sort's gather) record another graph, with
    its own pattern and cache key, at another point, so they are left out here."""
    rng = np.random.default_rng(12)
    arrays = case.sample(rng, shapes)
    wrt = case.wrt_of(arrays)
    f = case.partial(arrays, wrt)
    inputs = tuple(lucid.tensor(np.asarray(arrays[i], dtype=np.float64)) for i in wrt)
    pattern = sparsity(f, inputs).pattern
    for seed in (13, 14):
        other = case.sample(np.random.default_rng(seed), shapes)
        g = case.partial(other, wrt)

        def g_np(*xs):
            with lucid.no_grad():
                return np.asarray(g(*[lucid.tensor(x) for x in xs]).numpy(), dtype=np.float64)

        for p, fd in zip(pattern, central_jacobian(g_np, [np.asarray(other[i], dtype=np.float64) for i in wrt])):
            outside = (np.abs(fd) > 1e-6) & (p.toarray() == 0)
            assert not outside.any(), f"entries {np.argwhere(outside)[:5].tolist()} missing from the pattern"


def stencil(u):
    z = lucid.zeros(1, dtype=u.dtype)
    return lucid.cat([z, u[:-1]]) - 2 * u + lucid.cat([u[1:], z]) + u ** 3


def laplacian_2d(u):
    """5-point Laplacian plus a cubic reaction on an (N, N) grid, zero boundary."""
    n = u.shape[0]
    zr = lucid.zeros(1, n, dtype=u.dtype)
    zc = lucid.zeros(n, 1, dtype=u.dtype)
    up = lucid.cat([zr, u[:-1]], 0)
    down = lucid.cat([u[1:], zr], 0)
    left = lucid.cat([zc, u[:, :-1]], 1)
    right = lucid.cat([u[:, 1:], zc], 1)
    return up + down + left + right - 4 * u + u ** 3


def test_stencils_take_the_optimal_colour_counts():
    s1 = sparsity(stencil, lucid.tensor(np.linspace(0, 1, 1000)))
    assert (s1.colors, s1.nnz, s1.shape) == (3, 2998, (1000, 1000))
    s2 = sparsity(laplacian_2d, lucid.tensor(np.random.default_rng(0).normal(size=(40, 40))))
    assert s2.colors == 5
    assert s2.nnz == 5 * 1600 - 4 * 40


@pytest.mark.parametrize("n", [1, 2, 7, 500])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_stencil_values(n, strategy):
    x = np.random.default_rng(n).normal(size=n)
    j = jacobian(stencil, lucid.tensor(x), sparse=True, strategy=strategy)
    expected = np.diag(-2 + 3 * x ** 2) + np.diag(np.ones(n - 1), 1) + np.diag(np.ones(n - 1), -1)
    _check_csr(j, expected)


def test_large_stencil_stays_sparse():
    """n = 200 000: the dense result would be 320 GB; the sparse one is 600 000 entries."""
    x = np.random.default_rng(0).normal(size=200_000)
    j = jacobian(stencil, lucid.tensor(x), sparse=True)
    assert j.nnz == 3 * 200_000 - 2
    np.testing.assert_allclose(j.diagonal(), -2 + 3 * x ** 2, rtol=1e-14)
    np.testing.assert_array_equal(j.diagonal(1), 1.0)


def _programs():
    rng = np.random.default_rng(5)
    w = lucid.tensor(rng.normal(size=(4, 6)))
    band = np.diag(np.full(8, 2.0)) - np.diag(np.ones(7), 1) - np.diag(np.ones(7), -1)
    return {
        "mlp": (lambda x: (w @ x).tanh(), [(6,)]),
        "batched_rows": (lambda x: (x.sin() * x.sum(1, keepdim=True)).softmax(1), [(5, 3)]),
        "constant_band_matrix": (lambda u: lucid.tensor(band) @ u + u.exp(), [(8,)]),
        "cumsum_and_gather": (lambda x: x.cumsum(0)[lucid.tensor([3, 0, 3, 1])] * x[1:5], [(6,)]),
        "two_inputs_two_outputs": (lambda a, b: (a * b[:3], (a.sum() * b).cos()), [(3,), (5,)]),
        "matrix_inverse_batch": (lambda a: lucid.linalg.inv(a + 3 * lucid.eye(3)).reshape(-1), [(4, 3, 3)]),
        "diagonals": (lambda a: a.diagonal().diag_embed() + a.tril() * a.triu(), [(4, 4)]),
        "reductions": (lambda x: lucid.cat([x.amax(1), x.prod(1), x.logsumexp(1), x.norm(dim=1)]), [(3, 4)]),
        "unused_input": (lambda a, b: a * 2, [(3,), (2,)]),
    }


@pytest.mark.parametrize("name", sorted(_programs()))
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_programs_equal_dense(name, strategy):
    f, shapes = _programs()[name]
    rng = np.random.default_rng(7)
    inputs = tuple(lucid.tensor(rng.uniform(0.5, 1.5, size=s)) for s in shapes)
    dense = jacobian(f, inputs)
    sparse = jacobian(f, inputs, sparse=True, strategy=strategy)
    for s, d in zip(sparse, dense):
        _check_csr(s, d.numpy())


def test_constant_band_matrix_keeps_the_band():
    f, shapes = _programs()["constant_band_matrix"]
    s = sparsity(f, lucid.tensor(np.ones(8)))
    assert s.nnz == 8 + 2 * 7
    assert s.colors == 3


def test_single_input_and_tuple_forms_mirror_dense():
    x = lucid.tensor(np.arange(1.0, 5.0))
    assert isinstance(jacobian(stencil, x, sparse=True), sp.csr_array)
    blocks = jacobian(stencil, (x,), sparse=True)
    assert isinstance(blocks, tuple) and len(blocks) == 1


def test_float32_blocks_keep_their_dtype():
    x32 = lucid.tensor(np.linspace(0, 1, 10), dtype=lucid.float32)
    j = jacobian(stencil, x32, sparse=True)
    assert j.dtype == np.float32
    np.testing.assert_allclose(j.toarray(), jacobian(stencil, x32).numpy(), rtol=1e-6)


def test_repeated_calls_reuse_the_preparation_and_stay_right():
    sparsity_cache_clear()
    for k in range(5):
        x = np.random.default_rng(k).normal(size=50)
        j = jacobian(stencil, lucid.tensor(x), sparse=True)
        np.testing.assert_allclose(j.diagonal(), -2 + 3 * x ** 2, rtol=1e-14)


def test_a_different_constant_is_a_different_pattern():
    """The cache key includes a product's constant operand: a second matrix with other
    zeros never reuses the first one's pattern."""
    x = lucid.tensor(np.ones(4))
    a = np.eye(4)
    b = np.ones((4, 4))
    ja = jacobian(lambda u: lucid.tensor(a) @ u, x, sparse=True)
    jb = jacobian(lambda u: lucid.tensor(b) @ u, x, sparse=True)
    assert (ja.nnz, jb.nnz) == (4, 16)
    np.testing.assert_array_equal(jb.toarray(), b)


def test_value_dependent_branches_are_both_in_the_pattern():
    """where(x > 0, a, b) reads both branches: the pattern holds for every input value."""
    def f(x):
        return lucid.where(x > 0, x[::-1] * 2, x * 3)
    pos = sparsity(f, lucid.tensor(np.ones(4))).pattern.toarray()
    neg = sparsity(f, lucid.tensor(-np.ones(4))).pattern.toarray()
    np.testing.assert_array_equal(pos, neg)
    assert pos.sum() == 4 + 4


def separable(x):
    """Σ x_i⁴ + Σ x_i x_{i+1}: a tridiagonal Hessian."""
    return (x ** 4).sum() + (x[:-1] * x[1:]).sum()


@pytest.mark.parametrize("n", [1, 3, 100])
def test_sparse_hessian_equals_dense(n):
    x = lucid.tensor(np.random.default_rng(n).normal(size=n))
    h = hessian(separable, x, sparse=True)
    _check_csr(h, hessian(separable, x).numpy())
    s = sparsity(separable, x, hessian=True)
    assert s.direction == "star"
    # a star colouring of a path: one colour, two (the middle apart), three from n = 4
    assert s.colors == {1: 1, 3: 2, 100: 3}[n]


def test_sparse_hessian_of_tuple_inputs():
    def f(a, b):
        return (a * a * b[:3]).sum() + (b ** 3).sum()
    rng = np.random.default_rng(3)
    inputs = (lucid.tensor(rng.normal(size=3)), lucid.tensor(rng.normal(size=5)))
    dense = hessian(f, inputs)
    sparse = hessian(f, inputs, sparse=True)
    for i in range(2):
        for j in range(2):
            _check_csr(sparse[i][j], dense[i][j].numpy())
    pat = sparsity(f, inputs, hessian=True).pattern
    assert [[p.shape for p in row] for row in pat] == [[(3, 3), (3, 5)], [(5, 3), (5, 5)]]


def test_hessian_of_a_dense_function_is_still_right():
    w = lucid.tensor(np.random.default_rng(0).normal(size=(6, 6)))
    f = lambda x: (w @ x).tanh().sum()
    x = lucid.tensor(np.random.default_rng(1).normal(size=6))
    _check_csr(hessian(f, x, sparse=True), hessian(f, x).numpy())


def test_sparsity_reports_direction_and_colours():
    # 1 output row reading 50 inputs: one reverse sweep beats 50 forward colours
    s = sparsity(lambda x: x.sum(), lucid.tensor(np.ones(50)))
    assert (s.direction, s.colors) == ("reverse", 1)
    s = sparsity(lambda x: x.sum(), lucid.tensor(np.ones(50)), strategy="forward-mode")
    assert (s.direction, s.colors) == ("forward", 50)
    assert "colors=50" in repr(s)


def test_strict_applies_to_sparse():
    with pytest.raises(RuntimeError, match="independent"):
        jacobian(lambda a, b: a * 2, (lucid.ones(2), lucid.ones(2)), sparse=True, strict=True)


@pytest.mark.parametrize("kwargs,match", [
    ({"create_graph": True}, "create_graph=True cannot be combined with sparse=True"),
    ({"vectorize": True, "chunk_size": 2}, "chunk_size does not apply with sparse=True"),
    ({"strategy": "sideways"}, "strategy must be one of"),
])
def test_bad_options_fail_before_the_function_runs(kwargs, match):
    calls = []

    def f(x):
        calls.append(1)
        return x

    with pytest.raises(ValueError, match=match):
        jacobian(f, lucid.ones(3), sparse=True, **kwargs)
    assert not calls


def test_sparse_must_be_a_bool():
    with pytest.raises(TypeError, match="sparse must be a bool"):
        jacobian(stencil, lucid.ones(3), sparse="yes")


def test_missing_scipy_names_the_fix(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("No module named 'scipy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    with pytest.raises(ImportError, match=r"pip install scipy"):
        jacobian(stencil, lucid.ones(3), sparse=True)


def arrow(x):
    """Each x_i² + x_0, and Σ x: one dense row and one dense column, which defeat both a
    forward and a reverse colouring (n colours each)."""
    return lucid.cat([x[1:] ** 2 + x[0], x.sum().reshape(1)])


@pytest.mark.parametrize("n", [2, 5, 300])
def test_a_dense_row_and_column_take_mixed_sweeps(n):
    x = lucid.tensor(np.random.default_rng(n).normal(size=n))
    s = sparsity(arrow, x)
    forward = sparsity(arrow, x, strategy="forward-mode").colors
    reverse = sparsity(arrow, x, strategy="reverse-mode").colors
    assert (forward, reverse) == (n, n)
    if n > 8:  # below, mixed sweeps are not tried (they could save a line or two)
        assert (s.direction, s.colors) == ("mixed", 3)
    for strategy in STRATEGIES:
        _check_csr(jacobian(arrow, x, sparse=True, strategy=strategy), jacobian(arrow, x).numpy())


def test_mixed_sweeps_with_tuple_inputs_and_outputs():
    def f(a, b):
        return arrow(a) * b[0], (a[1:] * b[1:]).cumsum(0)[-3:]
    rng = np.random.default_rng(9)
    inputs = (lucid.tensor(rng.normal(size=40)), lucid.tensor(rng.normal(size=40)))
    for s, d in zip(jacobian(f, inputs, sparse=True), jacobian(f, inputs)):
        _check_csr(s, d.numpy())


def test_little_to_compress_takes_the_dense_sweeps():
    """W4 of the benchmark: 51 colours for 100 columns, so auto takes the dense
    Jacobian's own (structured) sweeps and keeps the pattern's entries."""
    def f(a, b):
        return a * b, (a[:, None] * b[None, :]).sum(0)
    rng = np.random.default_rng(4)
    inputs = (lucid.tensor(rng.normal(size=50)), lucid.tensor(rng.normal(size=50)))
    s = sparsity(f, inputs)
    assert s.direction == "dense"
    assert sparsity(f, inputs, strategy="forward-mode").colors == 51
    for got, want in zip(jacobian(f, inputs, sparse=True), jacobian(f, inputs)):
        _check_csr(got, want.numpy())


def test_a_graph_that_depends_on_the_values_is_never_given_another_pattern():
    """A sort records a gather whose positions depend on the values: another order is
    another graph, with its own signature, so the cached pattern of the first is never
    reused for it."""
    def f(x):
        return x.sort().values * x
    sparsity_cache_clear()
    for values in ([3.0, 1.0, 2.0, 0.5], [0.5, 2.0, 1.0, 3.0], [3.0, 1.0, 2.0, 0.5]):
        x = lucid.tensor(np.array(values))
        _check_csr(jacobian(f, x, sparse=True), jacobian(f, x).numpy())
