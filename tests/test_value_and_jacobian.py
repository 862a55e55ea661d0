"""``lucid.autograd.value_and_jacobian`` and ``Tape.value_and_jacobian`` (issue 19, part
6): ``(func(x), jacobian(func, x))`` from one call of ``func``, in every strategy and with
every option of ``jacobian``; the outputs detached unless ``create_graph``; the same
structures and the same errors as ``jacobian`` (named ``value_and_jacobian``)."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.autograd import jacobian, value_and_jacobian

try:
    import scipy.sparse  # noqa: F401
    HAVE_SCIPY = True
except ImportError:
    HAVE_SCIPY = False

# every mode jacobian offers: loop, vectorized, chunked, each strategy
MODES = [
    pytest.param({}, id="default"),
    pytest.param({"vectorize": True}, id="vectorize"),
    pytest.param({"vectorize": True, "chunk_size": 1}, id="chunk1"),
    pytest.param({"vectorize": True, "chunk_size": 3}, id="chunk3"),
    pytest.param({"strategy": "reverse-mode"}, id="reverse"),
    pytest.param({"strategy": "reverse-mode", "vectorize": True}, id="reverse-vec"),
    pytest.param({"strategy": "forward-mode"}, id="forward"),
    pytest.param({"strategy": "forward-mode", "vectorize": True, "chunk_size": 2}, id="forward-chunk2"),
    pytest.param({"strategy": "auto", "vectorize": True}, id="auto-vec"),
    pytest.param({"strict": True}, id="strict"),
]


def f64(values, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def rand(shape, seed=0):
    return f64(np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape))


class Counter:
    """Wraps func and counts its calls."""

    def __init__(self, func):
        self.func, self.calls = func, 0

    def __call__(self, *args):
        self.calls += 1
        return self.func(*args)


def as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


def assert_same(a, b):
    """Equal structure (Tensor vs tuple) and bit-for-bit equal values."""
    assert isinstance(a, tuple) == isinstance(b, tuple), (type(a), type(b))
    for x, y in zip(as_tuple(a), as_tuple(b)):
        assert x.shape == y.shape and x.dtype == y.dtype
        np.testing.assert_array_equal(np.asarray(x.numpy()), np.asarray(y.numpy()))


# the functions: one input, one output; one input, a tuple of outputs; a tuple of inputs
# of different shapes and two outputs (one 0-d); more outputs than inputs (auto: forward)
CASES = {
    "one-in-one-out": (lambda x: x.sin() * x ** 2, lambda: rand((3, 2), 1)),
    "one-in-tuple-out": (lambda x: (x.exp(), (x * x).sum()), lambda: rand(4, 2)),
    "tuple-in-tuple-out": (lambda a, b: (a[:, None] * b[None, :], (a * a).sum() + b.sum()),
                           lambda: (rand(3, 3), rand(2, 4))),
    "tall": (lambda x: (x[:, None] * lucid.linspace(0.0, 1.0, 7, dtype=lucid.float64)).reshape(-1),
             lambda: rand(2, 5)),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_equals_func_and_jacobian_and_calls_func_once(case, mode):
    func, make = CASES[case]
    x = make()
    counted = Counter(func)
    values, J = value_and_jacobian(counted, x, **mode)
    assert counted.calls == 1
    inputs = x if isinstance(x, tuple) else (x,)
    assert_same(values, func(*inputs))
    assert_same(J, jacobian(func, x, **mode))
    for v in as_tuple(values):
        assert not v.requires_grad and v.grad_fn is None


def test_a_list_of_inputs_gives_a_tuple_and_a_list_output_a_tuple():
    a, b = rand(2, 5), rand(2, 6)
    values, J = value_and_jacobian(lambda a, b: [a * b, a - b], [a, b])
    assert isinstance(values, tuple) and len(values) == 2
    assert isinstance(J, tuple) and [j.shape for j in J] == [(4, 2), (4, 2)]
    np.testing.assert_array_equal(J[0].numpy(), np.vstack([np.diag(b.numpy()), np.eye(2)]))


def test_doc_newton_step():
    # f(x) = x² - 2, J = 2x: from x = 1 one step gives 1 - (-1)/2 = 1.5
    fx, J = value_and_jacobian(lambda x: x * x - 2, f64([1.0]))
    assert fx.tolist() == [-1.0] and J.tolist() == [[2.0]]


def test_create_graph_keeps_outputs_and_jacobian_differentiable():
    # f = x³: value x³ (d/dx 3x²), J = diag(3x²) (d/dx_i of J_ii = 6 x_i)
    x = f64([1.0, 2.0], requires_grad=True)
    for mode in ({}, {"vectorize": True}, {"strategy": "forward-mode"}):
        values, J = value_and_jacobian(lambda t: t ** 3, x, create_graph=True, **mode)
        assert values.requires_grad and J.requires_grad
        (g_values,) = lucid.autograd.grad(values.sum(), x, retain_graph=True)
        np.testing.assert_allclose(g_values.numpy(), [3.0, 12.0])
        (g_J,) = lucid.autograd.grad(J.sum(), x)
        np.testing.assert_allclose(g_J.numpy(), [6.0, 12.0])
        # the same values and J as without create_graph
        plain_values, plain_J = value_and_jacobian(lambda t: t ** 3, x, **mode)
        np.testing.assert_array_equal(values.detach().numpy(), plain_values.numpy())
        np.testing.assert_array_equal(J.detach().numpy(), plain_J.numpy())


def test_outputs_are_detached_and_callers_tensors_untouched():
    x = f64([0.5, 1.5], requires_grad=True)
    values, J = value_and_jacobian(lambda t: (t * 2, t.sum()), x)
    assert all(not v.requires_grad for v in values) and not J.requires_grad
    assert x.grad is None and x.is_leaf and x.requires_grad
    # an output that is the input itself comes back as a detached copy of its values
    values, J = value_and_jacobian(lambda t: t, x)
    assert not values.requires_grad and values.tolist() == [0.5, 1.5]
    np.testing.assert_array_equal(J.numpy(), np.eye(2))


def test_outputs_independent_of_the_inputs():
    a = f64([1.0, 2.0])
    values, J = value_and_jacobian(lambda a: (2 * a, lucid.ones(3, dtype=lucid.float64)), a)
    assert values[1].tolist() == [1.0, 1.0, 1.0]
    np.testing.assert_array_equal(J.numpy(), np.vstack([2 * np.eye(2), np.zeros((3, 2))]))


@pytest.mark.skipif(not HAVE_SCIPY, reason="sparse=True needs SciPy")
@pytest.mark.parametrize("strategy", ["auto", "forward-mode", "reverse-mode"])
def test_sparse_equals_the_sparse_jacobian(strategy):
    def stencil(u):
        return u[1:] * u[:-1] - u[1:].sin()
    u = rand(6, 7)
    counted = Counter(stencil)
    values, J = value_and_jacobian(counted, u, sparse=True, strategy=strategy)
    assert counted.calls == 1
    ref = jacobian(stencil, u, sparse=True, strategy=strategy)
    assert type(J) is type(ref) and J.shape == ref.shape
    np.testing.assert_array_equal(J.toarray(), ref.toarray())
    assert_same(values, stencil(u))
    assert not values.requires_grad
    values2, J2 = value_and_jacobian(lambda a, b: a * b, (u, u * 2), sparse=True)
    assert isinstance(J2, tuple) and len(J2) == 2 and not values2.requires_grad


# ---- errors: jacobian's, naming value_and_jacobian ----------------------------------------

X2 = f64([1.0, 2.0])
SQUARE = lambda a: a * a  # noqa: E731

BAD_CALLS = {
    "inputs-float": (SQUARE, 1.0, {}),
    "inputs-entry": (SQUARE, (X2, 3), {}),
    "inputs-empty": (SQUARE, (), {}),
    "inputs-int-dtype": (SQUARE, lucid.tensor([1, 2]), {}),
    "func-not-callable": (3, X2, {}),
    "output-float": (lambda a: 3.0, X2, {}),
    "output-entry": (lambda a: (a, np.zeros(2)), X2, {}),
    "output-empty": (lambda a: (), X2, {}),
    "create-graph-int": (SQUARE, X2, {"create_graph": 1}),
    "strict-str": (SQUARE, X2, {"strict": "yes"}),
    "vectorize-none": (SQUARE, X2, {"vectorize": None}),
    "chunk-without-vectorize": (SQUARE, X2, {"chunk_size": 2}),
    "chunk-zero": (SQUARE, X2, {"vectorize": True, "chunk_size": 0}),
    "chunk-float": (SQUARE, X2, {"vectorize": True, "chunk_size": 2.0}),
    "strategy-unknown": (SQUARE, X2, {"strategy": "sideways"}),
    "strategy-type": (SQUARE, X2, {"strategy": 3}),
    "strict-independent": (lambda a, b: 2 * a, (X2, f64([5.0])), {"strict": True}),
    "strict-independent-forward": (lambda a, b: 2 * a, (X2, f64([5.0])),
                                   {"strict": True, "strategy": "forward-mode"}),
    "sparse-type": (SQUARE, X2, {"sparse": 1}),
    "sparse-create-graph": (SQUARE, X2, {"sparse": True, "create_graph": True}),
    "sparse-chunk": (SQUARE, X2, {"sparse": True, "vectorize": True, "chunk_size": 2}),
    "sparse-strict-independent": (lambda a, b: 2 * a, (X2, f64([5.0])), {"strict": True, "sparse": True}),
}


def raised(call):
    with pytest.raises(Exception) as info:
        call()
    return info.value


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_errors_are_jacobians_naming_value_and_jacobian(name):
    func, inputs, kw = BAD_CALLS[name]
    if kw.get("sparse") is True and not HAVE_SCIPY:
        pytest.skip("sparse=True needs SciPy")
    expected = raised(lambda: jacobian(func, inputs, **kw))
    got = raised(lambda: value_and_jacobian(func, inputs, **kw))
    assert type(got) is type(expected)
    assert str(expected).startswith("jacobian: "), str(expected)
    assert str(got) == "value_and_" + str(expected)


def test_options_are_checked_before_func_runs():
    counted = Counter(SQUARE)
    with pytest.raises(ValueError, match="value_and_jacobian: chunk_size is only supported with vectorize=True"):
        value_and_jacobian(counted, X2, chunk_size=2)
    assert counted.calls == 0


def test_errors_inside_func_propagate_unchanged():
    class Boom(Exception):
        pass

    def func(a):
        raise Boom("inside")
    with pytest.raises(Boom, match="inside"):
        value_and_jacobian(func, X2)
    t = lucid.tape(SQUARE, X2)
    with pytest.raises(ValueError, match="value_and_jacobian: chunk_size is only supported"):
        t.value_and_jacobian(X2, chunk_size=2)


# ---- the tape ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_tape_equals_eager_bit_for_bit(case, mode):
    func, make = CASES[case]
    x = make()
    counted = Counter(func)
    t = lucid.tape(counted, x)
    y = tuple(v * 0.5 + 0.25 for v in x) if isinstance(x, tuple) else x * 0.5 + 0.25
    values, J = t.value_and_jacobian(y, **mode)
    eager_values, eager_J = value_and_jacobian(func, y, **mode)
    assert_same(values, eager_values)
    assert_same(J, eager_J)
    assert counted.calls == 1 and t.records == 1
    for v in as_tuple(values):
        assert not v.requires_grad


def test_tape_accepts_numpy_and_records_again_on_a_new_shape():
    t = lucid.tape(lambda x: x.cos(), lucid.ones(2, dtype=lucid.float64))
    values, J = t.value_and_jacobian(np.array([0.0, 1.0]))
    np.testing.assert_allclose(values.numpy(), np.cos([0.0, 1.0]))
    np.testing.assert_allclose(J.numpy(), np.diag(-np.sin([0.0, 1.0])))
    values, J = t.value_and_jacobian(np.zeros(3))
    assert J.shape == (3, 3) and t.records == 2


def test_tape_create_graph():
    x = f64([1.0, 2.0], requires_grad=True)
    t = lucid.tape(lambda v: v ** 3, f64([0.0, 0.0]))
    values, J = t.value_and_jacobian(x, create_graph=True)
    assert values.requires_grad and J.requires_grad
    (g,) = lucid.autograd.grad(J.sum(), x)
    np.testing.assert_allclose(g.numpy(), [6.0, 12.0])


@pytest.mark.skipif(not HAVE_SCIPY, reason="sparse=True needs SciPy")
def test_tape_sparse_equals_eager():
    f = lambda u: u[1:] * u[:-1]  # noqa: E731
    u = rand(5, 3)
    t = lucid.tape(f, u)
    values, J = t.value_and_jacobian(u * 2, sparse=True)
    eager_values, eager_J = value_and_jacobian(f, u * 2, sparse=True)
    assert_same(values, eager_values)
    np.testing.assert_array_equal(J.toarray(), eager_J.toarray())


@pytest.mark.parametrize("name", ["strict-independent", "strategy-unknown", "chunk-zero", "output-entry"])
def test_tape_errors_name_value_and_jacobian(name):
    func, inputs, kw = BAD_CALLS[name]
    eager = raised(lambda: value_and_jacobian(func, inputs, **kw))
    taped = raised(lambda: lucid.tape(func, inputs).value_and_jacobian(inputs, **kw))
    assert type(taped) is type(eager)
    # recording errors come from the tape's first call ("tape: ..."), the rest from the call
    if not str(taped).startswith("tape: "):
        assert str(taped) == str(eager)
