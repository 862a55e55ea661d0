"""``lucid.tape``: a replay equals the eager call bit for bit (every op of the
conformance table, random programs with branches taken both ways), guards re-record
when the function would have done something else, and what cannot be replayed runs
eagerly with a warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lucid
from lucid.autograd import hessian, hvp, jacobian, jvp, vjp

from optable import all_cases
from test_properties import BINARY, REDUCE, UNARY

CASES = all_cases()
PARAMS = [pytest.param(case, v, id=f"{case.name}-{'x'.join(map(str, v))}") for case in CASES for v in case.variants]


def same(a, b):
    """Bit-for-bit equal arrays (NaN equal to NaN)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8))


def assert_same(got, want):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, type(want)) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
    elif hasattr(want, "toarray"):
        assert_same(got.toarray(), want.toarray())
    else:
        g = got.numpy() if isinstance(got, lucid.Tensor) else got
        w = want.numpy() if isinstance(want, lucid.Tensor) else want
        assert same(g, w), f"replay {g} differs from eager {w}"


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_every_op_replays_as_it_runs_eagerly(case, shapes):
    rng = np.random.default_rng(2)
    first, second = case.sample(rng, shapes), case.sample(rng, shapes)
    wrt = case.wrt_of(first)
    f = case.partial(first, wrt)
    inputs = lambda arrays: tuple(lucid.tensor(np.asarray(arrays[i], dtype=np.float64)) for i in wrt)
    t = lucid.tape(f, inputs(first))
    for arrays in (second, first):
        x = inputs(arrays)
        assert_same(t(*x), f(*x).detach())
        for strategy in ("reverse-mode", "forward-mode"):
            assert_same(t.jacobian(x, strategy=strategy), jacobian(f, x, strategy=strategy))
    if "graph_depends_on_values" not in case.tags:
        assert t.records == 1 and t.replays == 6


def test_hessians_products_and_sparse_results_equal_eager():
    def f(x):
        return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()

    rng = np.random.default_rng(0)
    t = lucid.tape(f, lucid.tensor(rng.uniform(-1, 1, 12)))
    x = lucid.tensor(rng.uniform(-1, 1, 12))
    v = lucid.tensor(rng.uniform(-1, 1, 12))
    assert_same(t.hessian(x), hessian(f, x))
    assert_same(t.hessian(x, strategy="forward-mode"), hessian(f, x, strategy="forward-mode"))
    assert_same(t.hvp(x, v), hvp(f, x, v))
    assert_same(t.vhp(x, v), hvp(f, x, v))
    assert_same(t.vjp(x), vjp(f, x))
    assert_same(t.jvp(x, v), jvp(f, x, v))
    pytest.importorskip("scipy")
    assert_same(t.hessian(x, sparse=True), hessian(f, x, sparse=True))
    g = lambda x: x[1:] * x[:-1]
    tg = lucid.tape(g, x)
    assert_same(tg.jacobian(v, sparse=True), jacobian(g, v, sparse=True))
    assert tg.sparsity(v).nnz == lucid.autograd.sparsity(g, v).nnz
    assert t.records == 1 and tg.records == 1


def test_create_graph_results_stay_differentiable():
    f = lambda x: x.sin() * x
    x = lucid.tensor([0.3, -0.7], dtype=lucid.float64)
    t = lucid.tape(f, x)
    y = lucid.tensor([1.1, 0.2], dtype=lucid.float64, requires_grad=True)
    J = t.jacobian(y, create_graph=True)
    (g,) = lucid.autograd.grad(J.sum(), y)
    J2 = jacobian(f, y, create_graph=True)
    (g2,) = lucid.autograd.grad(J2.sum(), y)
    assert_same(g, g2)


def test_tuples_numpy_inputs_and_outputs_keep_their_form():
    f = lambda a, b: (a * b, (a + b).sum())
    a, b = np.arange(3.0), np.ones(3)
    t = lucid.tape(f, (a, b))
    out = t(lucid.tensor(a), lucid.tensor(b))
    assert isinstance(out, tuple) and len(out) == 2
    J = t.jacobian((a + 1, b * 2))
    want = jacobian(f, (lucid.tensor(a + 1), lucid.tensor(b * 2)))
    assert_same(J, want)
    assert J[0].dtype == lucid.float64


def test_a_branch_on_a_tensor_records_each_outcome_once():
    calls = []

    def f(x):
        calls.append(1)
        if x.sum() > 0:
            return x * x
        return -(x * x * x)

    up, down = lucid.tensor([1.0, 2.0]), lucid.tensor([-1.0, -2.0])
    t = lucid.tape(f, up)
    for x in (up, down, lucid.tensor([3.0, -1.0]), lucid.tensor([-3.0, 1.0]), up, down):
        assert_same(t.jacobian(x), jacobian(f, x))
        assert_same(t(x), f(x))
    assert t.records == 2 and t.tapes == 2
    assert len(calls) == 2 + 12  # two recordings, and the twelve eager calls above


@pytest.mark.parametrize("read", ["float", "int", "item", "numpy", "tolist", "bool"])
def test_every_way_a_value_leaves_the_graph_is_a_guard(read):
    def f(x):
        s = x.sum()
        value = {"float": float, "int": int, "item": lambda t: t.item(), "numpy": lambda t: float(t.numpy()),
                 "tolist": lambda t: t.tolist(), "bool": lambda t: bool(t > 1.0)}[read](s)
        return x * value

    x = lucid.tensor([0.25, 0.5], dtype=lucid.float64)
    t = lucid.tape(f, x)
    assert_same(t.jacobian(x), jacobian(f, x))
    assert t.records == 1
    y = lucid.tensor([1.5, 2.5], dtype=lucid.float64)
    assert_same(t.jacobian(y), jacobian(f, y))
    assert t.records == 2, "a new value read out of a tensor records again"


def test_an_index_computed_from_the_inputs_is_a_guard():
    def f(x):
        k = x.argmax()
        return x[k] * x + x.sort().values[0]

    t = lucid.tape(f, lucid.tensor([1.0, 3.0, 2.0]))
    for v in ([1.0, 3.0, 2.0], [0.0, 5.0, 1.0], [4.0, 0.0, 1.0], [2.0, 1.0, 3.0]):
        x = lucid.tensor(v)
        assert_same(t.jacobian(x), jacobian(f, x))
        assert_same(t(x), f(x))
    assert 2 <= t.records <= 4


def test_values_outside_the_derivative_are_recomputed():
    def f(x):
        mask = x > 0
        with lucid.no_grad():
            scale = x.abs().sum()
        return lucid.where(mask, x, 0.1 * x) / scale + x.detach().mean() + x.isnan().float() * 0

    rng = np.random.default_rng(3)
    t = lucid.tape(f, lucid.tensor(rng.normal(size=5)))
    for _ in range(4):
        x = lucid.tensor(rng.normal(size=5))
        assert_same(t.jacobian(x), jacobian(f, x))
        assert_same(t(x), f(x))
    assert t.records == 1


def test_random_draws_are_frozen_with_a_warning():
    f = lambda x: x + lucid.randn(3, dtype=lucid.float64)
    x = lucid.zeros(3, dtype=lucid.float64)
    with pytest.warns(RuntimeWarning, match="random"):
        t = lucid.tape(f, x)
    assert_same(t(x), t(x))


def test_writing_into_a_computed_value_runs_eagerly_with_a_warning():
    def f(x):
        y = (x * 2).detach()
        y[0] = 5.0
        return x * y

    x = lucid.tensor([1.0, 2.0, 3.0])
    with pytest.warns(RuntimeWarning, match="cannot replay"):
        t = lucid.tape(f, x)
    for v in ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]):
        assert_same(t.jacobian(lucid.tensor(v)), jacobian(f, lucid.tensor(v)))
    assert t.records == 3


def test_a_value_that_changes_every_call_warns_once():
    f = lambda x: x / float(x.norm())
    t = lucid.tape(f, lucid.tensor([1.0, 2.0]), max_tapes=2)
    with pytest.warns(RuntimeWarning, match="recorded"):
        for k in range(6):
            t.jacobian(lucid.tensor([1.0 + k, 2.0]))
    assert t.records == 6 and t.tapes == 2


def test_new_shapes_record_again():
    t = lucid.tape(lambda x: x.exp().sum(), lucid.ones(3))
    t.jacobian(lucid.ones(4))
    t.jacobian(lucid.ones(3))
    t.jacobian(lucid.ones(3, dtype=lucid.float64))
    assert t.records == 3 and t.replays == 1


def test_errors_are_python_exceptions_and_leave_the_tape_usable():
    def f(x):
        if x.sum() > 100:
            raise KeyError("too big")
        return x * 2

    t = lucid.tape(f, lucid.ones(2))
    with pytest.raises(KeyError, match="too big"):
        t.jacobian(lucid.full((2,), 100.0))
    assert_same(t.jacobian(lucid.ones(2)), jacobian(f, lucid.ones(2)))
    with pytest.raises(TypeError, match="inputs"):
        t.jacobian("x")
    with pytest.raises(TypeError, match="callable"):
        lucid.tape(3, lucid.ones(2))
    with pytest.raises(ValueError, match="max_tapes"):
        lucid.tape(f, lucid.ones(2), max_tapes=0)
    with pytest.raises(TypeError, match="strategy|str"):
        t.jacobian(lucid.ones(2), strategy=3)
    with pytest.raises(TypeError, match="must return a Tensor"):
        lucid.tape(lambda x: 3.0, lucid.ones(2))
    with pytest.raises(TypeError, match="floating point|dtype"):
        lucid.tape(f, lucid.ones(2, dtype=lucid.int64))
    # an error from an op at a new point (a singular matrix) is the eager error
    g = lambda a: lucid.linalg.inv(a)
    tg = lucid.tape(g, lucid.eye(2))
    with pytest.raises(RuntimeError):
        tg.jacobian(lucid.zeros(2, 2))
    with pytest.raises(RuntimeError):
        jacobian(g, lucid.zeros(2, 2))


def test_a_recording_does_not_leak_into_later_eager_work():
    t = lucid.tape(lambda x: (x > 0).float() * x, lucid.ones(2))
    y = lucid.ones(2) > 0
    assert y.grad_fn is None and not y.requires_grad
    assert t.records == 1


@st.composite
def branchy_programs(draw):
    n = draw(st.integers(1, 5))
    steps = draw(st.lists(st.tuples(st.sampled_from(sorted(UNARY)), st.sampled_from(sorted(BINARY)),
                                    st.sampled_from(sorted(REDUCE)), st.booleans()), min_size=1, max_size=4))
    seed = draw(st.integers(0, 2 ** 16))
    return n, steps, seed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(branchy_programs())
def test_random_programs_with_branches_replay_as_they_run(prog):
    n, steps, seed = prog

    def f(a, b):
        x = a
        for u, bop, red, branch in steps:
            x = UNARY[u][0](x)
            if branch and x.sum() > 0:  # taken both ways across the points below
                x = BINARY[bop][0](x, b)
            else:
                x = x * 0.5 - b
            x = REDUCE[red][0](x)
        return x

    rng = np.random.default_rng(seed)
    points = [(lucid.tensor(rng.uniform(-1.5, 1.5, (2, n))), lucid.tensor(rng.uniform(-1.5, 1.5, n)))
              for _ in range(6)]
    t = lucid.tape(f, points[0])
    for p in points:
        assert_same(t(*p), f(*p))
        assert_same(t.jacobian(p), jacobian(f, p))
        assert_same(t.jacobian(p, strategy="forward-mode"), jacobian(f, p, strategy="forward-mode"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert t.records <= len(points)


def test_map_equals_single_calls_at_every_point():
    def f(a, b):
        if (a.sum() > b.sum()).item():
            return a * b, (a[:, None] * b[None, :]).sum(0)
        return a - b, (a * b).cumsum(0)

    rng = np.random.default_rng(4)
    points = [(rng.normal(size=6), rng.normal(size=6)) for _ in range(30)]
    t = lucid.tape(f, points[0])
    got = t.map("jacobian", points)
    for g, p in zip(got, points):
        assert_same(g, jacobian(f, tuple(lucid.tensor(a) for a in p)))
    assert_same(t.map("jacobian", points[:5], strategy="forward-mode"),
                [jacobian(f, tuple(lucid.tensor(a) for a in p), strategy="forward-mode") for p in points[:5]])
    values = t.map("call", points[:5])
    assert_same(values, [f(*(lucid.tensor(a) for a in p)) for p in points[:5]])
    assert t.records == 2  # both branches, whichever point met them first

    g = lambda x: (x * x.sin()).sum()
    xs = rng.normal(size=(7, 4))  # an array: one point per row
    tg = lucid.tape(g, lucid.tensor(xs[0]))
    assert_same(tg.map("hessian", xs), [hessian(g, lucid.tensor(x)) for x in xs])
    assert tg.map("jacobian", []) == []
    with pytest.raises(ValueError, match="method"):
        tg.map("gradient", xs)
    with pytest.raises(TypeError, match="sparse"):
        tg.map("jacobian", xs, sparse=True)


def test_tapes_compose_and_an_inner_guard_guards_the_outer_tape():
    def inner(x):
        return x.exp() if x.sum() > 0 else -x

    ti = lucid.tape(inner, lucid.tensor([1.0, 2.0]))
    outer = lambda x: ti(x) * x  # the inner tape replays (or records) while the outer records
    to = lucid.tape(outer, lucid.tensor([1.0, 2.0]))
    for v in ([1.0, 2.0], [-1.0, -2.0], [0.5, 0.25], [-3.0, 1.0]):
        x = lucid.tensor(v)
        want = jacobian(lambda x: inner(x) * x, x)
        assert_same(to.jacobian(x), want)
        assert_same(to(x), inner(x) * x)
    assert to.records == 2  # the inner tape's guard became the outer's: both branches


def test_a_derivative_inside_the_function_runs_eagerly_with_a_warning():
    def f(x):
        (g,) = lucid.autograd.grad((x.sin() * x).sum(), x, create_graph=True)
        return g * x

    x = lucid.tensor([0.3, 0.6], dtype=lucid.float64)
    with pytest.warns(RuntimeWarning, match="derivative taken inside"):
        t = lucid.tape(f, x)
    y = lucid.tensor([1.5, -0.2], dtype=lucid.float64)
    assert_same(t.jacobian(y), jacobian(f, y))
    assert t.records == 2


def test_outputs_may_be_inputs_or_constants():
    t = lucid.tape(lambda x, y: (x, lucid.ones(2), y * 2), (lucid.ones(2), lucid.ones(2)))
    a, b = lucid.tensor([3.0, 4.0]), lucid.tensor([5.0, 6.0])
    out = t(a, b)
    assert_same(out, (a, lucid.ones(2), b * 2))
    assert_same(t.jacobian((a, b)), jacobian(lambda x, y: (x, lucid.ones(2), y * 2), (a, b)))
    assert t.records == 1


def test_one_tape_from_many_threads_at_once():
    import threading

    def f(x):
        return (x.sin() * x).cumsum(0) if x.sum() > 0 else x.exp() * 2

    t = lucid.tape(f, lucid.tensor([1.0, 2.0, 3.0], dtype=lucid.float64))
    rng = np.random.default_rng(9)
    points = [lucid.tensor(rng.normal(size=3)) for _ in range(200)]
    want = [jacobian(f, p).numpy() for p in points]
    errors = []

    def work(k):
        try:
            for i in range(k, len(points), 4):
                if not same(t.jacobian(points[i]).numpy(), want[i]):
                    errors.append(i)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert t.records <= 4  # each thread may meet the second branch before another keeps it
