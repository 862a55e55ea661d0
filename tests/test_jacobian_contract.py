"""The contract of lucid.autograd.jacobian and its family (issue 4), case by case:
shapes, tuples, dtypes, no mutation of the caller's tensors, grad mode, one call of
func, strict mode, create_graph to third order, vectorize/chunk_size, every error, the
return structures of hessian/vjp/jvp/hvp/vhp, and gradcheck."""

from __future__ import annotations

import numpy as np
import pytest

import lucid
from lucid.autograd import GradcheckError, gradcheck, hessian, hvp, jacobian, jvp, vhp, vjp

MODES = [
    pytest.param({}, id="loop"),
    pytest.param({"vectorize": True}, id="vectorize"),
    pytest.param({"vectorize": True, "chunk_size": 1}, id="chunk1"),
    pytest.param({"vectorize": True, "chunk_size": 3}, id="chunk3"),
    pytest.param({"strategy": "forward-mode"}, id="forward"),
    pytest.param({"strategy": "forward-mode", "vectorize": True, "chunk_size": 2}, id="forward-chunk2"),
]


def f64(values, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def rand(shape, seed=0, lo=-1.0, hi=1.0):
    return f64(np.random.default_rng(seed).uniform(lo, hi, size=shape))


class Counter:
    """Wraps func, counting calls and recording the grad mode and leaves it saw."""

    def __init__(self, func):
        self.func, self.calls, self.grad_enabled, self.args = func, 0, [], []

    def __call__(self, *args):
        self.calls += 1
        self.grad_enabled.append(lucid.is_grad_enabled())
        self.args.append(args)
        return self.func(*args)


# ---- shapes -----------------------------------------------------------------------------------

SHAPES = [(), (3,), (2, 3)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("in_shape", SHAPES, ids=str)
@pytest.mark.parametrize("out_kind", ["0-d", "1-d", "2-d", "same"])
def test_shapes_for_0d_1d_2d_inputs_and_outputs(mode, in_shape, out_kind):
    x = rand(in_shape, seed=1)
    n = int(np.prod(in_shape))
    xv = x.numpy().reshape(-1)
    if out_kind == "0-d":
        # f = Σ x²: J = 2xᵀ (one row)
        func, expected = (lambda a: (a * a).sum()), 2 * xv[None, :]
    elif out_kind == "1-d":
        # f = [Σ sin x, Σ x, Σ x²]: rows cos xᵀ, 1ᵀ, 2xᵀ
        func = lambda a: lucid.stack([a.sin().sum(), a.sum(), (a * a).sum()])  # noqa: E731
        expected = np.stack([np.cos(xv), np.ones(n), 2 * xv])
    elif out_kind == "2-d":
        # f = outer(v, x.flatten()) with v = (1, -2): J[(i, k), l] = v_i δ_kl
        func = lambda a: f64([[1.0], [-2.0]]) * a.reshape(1, -1)  # noqa: E731
        expected = np.concatenate([np.eye(n), -2 * np.eye(n)])
    else:
        # f = x³ elementwise (same shape): J = diag(3x²)
        func, expected = (lambda a: a ** 3), np.diag(3 * xv ** 2)
    j = jacobian(func, x, **mode)
    assert isinstance(j, lucid.Tensor)
    assert j.shape == expected.shape == (expected.shape[0], n)
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-14, atol=1e-15)


def test_doc_example():
    assert jacobian(lambda x: x * x, lucid.tensor([1.0, 2.0, 3.0])).shape == (3, 3)


@pytest.mark.parametrize("mode", MODES)
def test_tuple_inputs_and_tuple_outputs(mode):
    # f(a, b) = (a·b, Σ_i a_i b_j): ∂1/∂a = diag(b), ∂1/∂b = diag(a);
    # ∂2_j/∂a_i = b_j, ∂2_j/∂b_k = δ_jk Σa  (rows of the outputs stacked in order)
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    func = lambda a, b: (a * b, (a.reshape(2, 1) * b.reshape(1, 2)).sum(0))  # noqa: E731
    ja, jb = jacobian(func, (a, b), **mode)
    np.testing.assert_array_equal(ja.numpy(), [[3, 0], [0, 4], [3, 3], [4, 4]])
    np.testing.assert_array_equal(jb.numpy(), [[1, 0], [0, 2], [3, 0], [0, 3]])
    # a list of inputs also gives a tuple; a 1-tuple gives a 1-tuple
    out = jacobian(func, [a, b], **mode)
    assert isinstance(out, tuple) and len(out) == 2
    out = jacobian(lambda a: a * 2, (a,), **mode)
    assert isinstance(out, tuple) and len(out) == 1
    np.testing.assert_array_equal(out[0].numpy(), 2 * np.eye(2))
    # a single input with a tuple of outputs gives one stacked block
    j = jacobian(lambda a: (a * 2, a.sum(), a[0]), a, **mode)
    assert isinstance(j, lucid.Tensor)
    np.testing.assert_array_equal(j.numpy(), [[2, 0], [0, 2], [1, 1], [1, 0]])


@pytest.mark.parametrize("mode", MODES)
def test_inputs_of_different_shapes(mode):
    # f(W, x) = W x with W 2×3, x ∈ R³: ∂/∂W[(i), (k, l)] = δ_ik x_l, ∂/∂x = W
    W, x = rand((2, 3), 1), rand(3, 2)
    jW, jx = jacobian(lambda W, x: W @ x, (W, x), **mode)
    assert jW.shape == (2, 6) and jx.shape == (2, 3)
    np.testing.assert_allclose(jW.numpy(), np.kron(np.eye(2), x.numpy()[None, :]), rtol=1e-15)
    np.testing.assert_allclose(jx.numpy(), W.numpy(), rtol=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_block_dtype_is_the_input_dtype(mode):
    a32 = lucid.tensor([1.0, 2.0])
    b64 = f64([3.0, 4.0])
    ja, jb = jacobian(lambda a, b: a * b, (a32, b64), **mode)  # the output is float64
    assert ja.dtype == lucid.float32 and jb.dtype == lucid.float64
    np.testing.assert_array_equal(ja.numpy(), [[3, 0], [0, 4]])
    # a float64 input through a float32 computation still gives a float64 block
    j = jacobian(lambda a: a.float() * 2, b64, **mode)
    assert j.dtype == lucid.float64
    np.testing.assert_array_equal(j.numpy(), 2 * np.eye(2))
    assert jacobian(lambda a: a * 2, a32, **mode).dtype == lucid.float32


def test_empty_inputs_and_outputs():
    e = lucid.zeros(0, dtype=lucid.float64)
    x = f64([1.0, 2.0])
    for mode in ({}, {"vectorize": True}):
        assert jacobian(lambda a: a * 2, e, **mode).shape == (0, 0)
        assert jacobian(lambda a: a.sum(), e, **mode).shape == (1, 0)
        assert jacobian(lambda a: a[0:0], x, **mode).shape == (0, 2)
        np.testing.assert_array_equal(jacobian(lambda a: (a[0:0], 2 * a), x, **mode).numpy(), 2 * np.eye(2))
    assert hessian(lambda a: (a * a).sum(), e).shape == (0, 0)


# ---- no mutation, connection, grad mode, one call ---------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("create_graph", [False, True])
def test_no_mutation_of_the_callers_tensors(mode, create_graph):
    plain = f64([1.0, 2.0])
    tracked = f64([3.0, 4.0], requires_grad=True)
    tracked.grad = f64([7.0, 7.0])
    before = (plain.numpy().copy(), tracked.numpy().copy())
    seen = Counter(lambda a, b: a * b)
    ja, jb = jacobian(seen, (plain, tracked), create_graph=create_graph, **mode)
    np.testing.assert_array_equal(ja.numpy(), np.diag([3.0, 4.0]))
    np.testing.assert_array_equal(jb.numpy(), np.diag([1.0, 2.0]))
    assert not plain.requires_grad and plain.is_leaf and plain.grad is None
    assert tracked.requires_grad and tracked.is_leaf
    assert tracked.grad.tolist() == [7.0, 7.0]  # .grad untouched
    np.testing.assert_array_equal(plain.numpy(), before[0])
    np.testing.assert_array_equal(tracked.numpy(), before[1])
    # func saw leaves that require grad, not the caller's objects
    (la, lb) = seen.args[0]
    assert la.requires_grad and lb.requires_grad
    assert la is not plain and lb is not tracked


@pytest.mark.parametrize("fn", ["hessian", "vjp", "jvp", "hvp", "vhp"])
def test_family_does_not_mutate_either(fn):
    plain = f64([1.0, 2.0])
    tracked = f64([3.0, 4.0], requires_grad=True)
    f = lambda a, b: (a * a * b).sum()  # noqa: E731
    v = (f64([1.0, 1.0]), f64([1.0, 1.0]))
    call = {
        "hessian": lambda: hessian(f, (plain, tracked)),
        "vjp": lambda: vjp(f, (plain, tracked)),
        "jvp": lambda: jvp(f, (plain, tracked), v),
        "hvp": lambda: hvp(f, (plain, tracked), v),
        "vhp": lambda: vhp(f, (plain, tracked), v),
    }[fn]
    call()
    assert not plain.requires_grad and plain.grad is None
    assert tracked.requires_grad and tracked.is_leaf and tracked.grad is None


@pytest.mark.parametrize("mode", MODES)
def test_a_caller_tensor_that_requires_grad_stays_connected(mode):
    # J(a ↦ a·a) = diag(2x); Σ J = 2 Σ x, so x.grad = 2 everywhere
    x = lucid.tensor([1.0, 2.0, 3.0], requires_grad=True)
    j = jacobian(lambda a: a * a, x, create_graph=True, **mode)
    assert j.requires_grad
    j.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    assert x.is_leaf
    # a hessian of x³ also connects: H = diag(6x), d/dx Σ H = 6
    y = f64([1.0, 2.0], requires_grad=True)
    hessian(lambda a: (a ** 3).sum(), y, create_graph=True).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 6.0])


def test_without_create_graph_results_are_detached():
    x = f64([1.0, 2.0], requires_grad=True)
    j = jacobian(lambda a: a * a, x)
    assert not j.requires_grad and j.is_leaf
    out, (g,) = vjp(lambda a: (a * a).sum(), x)
    assert not out.requires_grad and not g.requires_grad
    out, t = jvp(lambda a: a * a, x, f64([1.0, 1.0]))
    assert not out.requires_grad and not t.requires_grad
    out, p = hvp(lambda a: (a ** 3).sum(), x, f64([1.0, 1.0]))
    assert not out.requires_grad and not p.requires_grad
    assert not hessian(lambda a: (a ** 3).sum(), x).requires_grad


@pytest.mark.parametrize("mode", MODES)
def test_func_runs_once_with_grad_on_even_inside_no_grad(mode):
    x = rand(4, 3)
    seen = Counter(lambda a: a.sin() * a)
    with lucid.no_grad():
        j = jacobian(seen, x, **mode)
        assert not lucid.is_grad_enabled()  # restored
    assert seen.calls == 1 and seen.grad_enabled == [True]
    xv = x.numpy()
    np.testing.assert_allclose(j.numpy(), np.diag(np.cos(xv) * xv + np.sin(xv)), rtol=1e-14)


@pytest.mark.parametrize("fn", ["hessian", "vjp", "jvp", "hvp", "vhp"])
def test_family_calls_func_once_with_grad_on(fn):
    x = rand(3, 4)
    seen = Counter(lambda a: (a ** 3).sum())
    v = f64([1.0, 2.0, 3.0])
    with lucid.no_grad():
        {"hessian": lambda: hessian(seen, x), "vjp": lambda: vjp(seen, x), "jvp": lambda: jvp(seen, x, v),
         "hvp": lambda: hvp(seen, x, v), "vhp": lambda: vhp(seen, x, v)}[fn]()
    assert seen.calls == 1 and seen.grad_enabled == [True]
    if fn == "hessian":
        seen2 = Counter(lambda a: (a ** 3).sum())
        hessian(seen2, x, vectorize=True)
        assert seen2.calls == 1


# ---- independence and strict -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_independent_outputs_give_zero_rows(mode):
    a, b = f64([1.0, 2.0]), f64([5.0])
    # output 0 = 2a ignores b; output 1 is a constant; output 2 is a bool mask (no grad)
    ja, jb = jacobian(lambda a, b: (2 * a, lucid.ones(3, dtype=lucid.float64), a > 1), (a, b), **mode)
    np.testing.assert_array_equal(ja.numpy(), np.concatenate([2 * np.eye(2), np.zeros((5, 2))]))
    assert jb.shape == (7, 1) and not np.any(jb.numpy())
    # an output computed from a detached input
    j = jacobian(lambda a: a.detach() * 2, a, **mode)
    assert j.shape == (2, 2) and not np.any(j.numpy())


@pytest.mark.parametrize("mode", MODES)
def test_strict_raises_for_independent_outputs(mode):
    a, b = f64([1.0, 2.0]), f64([5.0])
    with pytest.raises(RuntimeError, match=r"jacobian: output 0 is independent of input 1 \(strict=True forbids this\)"):
        jacobian(lambda a, b: 2 * a, (a, b), strict=True, **mode)
    with pytest.raises(RuntimeError, match="output 1 is independent of input 0"):
        jacobian(lambda a: (2 * a, lucid.ones(2)), a, strict=True, **mode)  # does not require grad at all
    with pytest.raises(RuntimeError, match="output 0 is independent of input 0"):
        jacobian(lambda a: a > 0, a, strict=True, **mode)
    with pytest.raises(RuntimeError, match="output 0 is independent of input 0"):
        jacobian(lambda a: a.detach(), a, strict=True, **mode)
    # dependent outputs pass, including an output that is the input itself
    np.testing.assert_array_equal(jacobian(lambda a: a, a, strict=True, **mode).numpy(), np.eye(2))
    jacobian(lambda a, b: (a * b, b + a.sum()), (a, b), strict=True, **mode)


def test_strict_in_the_family():
    a, b = f64([1.0, 2.0]), f64([5.0])
    v2 = (f64([1.0, 1.0]), f64([1.0]))
    with pytest.raises(RuntimeError, match="vjp: output 0 is independent of input 1"):
        vjp(lambda a, b: (a * a).sum(), (a, b), strict=True)
    with pytest.raises(RuntimeError, match="jvp: output 0 is independent of input 1"):
        jvp(lambda a, b: a * a, (a, b), v2, strict=True)
    with pytest.raises(RuntimeError, match="hessian: output 0 is independent of input 1"):
        hessian(lambda a, b: (a * a).sum(), (a, b), strict=True)
    with pytest.raises(RuntimeError, match="hvp: output 0 is independent of input 1"):
        hvp(lambda a, b: (a * a).sum(), (a, b), v2, strict=True)
    with pytest.raises(RuntimeError, match="independent of input 1"):
        vhp(lambda a, b: (a * a).sum(), (a, b), v2, strict=True)
    # second order, as PyTorch: a linear function has an identically zero Hessian
    with pytest.raises(RuntimeError, match="hessian: the gradient with respect to input 0 is independent of input 0"):
        hessian(lambda a: (2 * a).sum(), a, strict=True)
    with pytest.raises(RuntimeError, match="hvp: the Hessian-vector product is independent of input 0"):
        hvp(lambda a: (2 * a).sum(), a, f64([1.0, 1.0]), strict=True)
    # without strict those are zeros
    np.testing.assert_array_equal(hessian(lambda a: (2 * a).sum(), a).numpy(), np.zeros((2, 2)))
    np.testing.assert_array_equal(hvp(lambda a: (2 * a).sum(), a, f64([1.0, 1.0]))[1].numpy(), [0.0, 0.0])
    # unused inputs get zeros in vjp
    _, (ga, gb) = vjp(lambda a, b: (a * a).sum(), (a, b))
    np.testing.assert_array_equal(ga.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(gb.numpy(), [0.0])


# ---- create_graph, vectorize, chunk_size ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_create_graph_to_third_order(mode):
    # f = x⁴ elementwise: J = diag(4x³); ∂J/∂x: 12x² on the (i, i, i) entries; third: 24x
    x = f64([1.0, 2.0])
    xv = np.array([1.0, 2.0])
    j1 = lambda a: jacobian(lambda b: b ** 4, a, create_graph=True, **mode)  # noqa: E731
    j2 = lambda a: jacobian(j1, a, create_graph=True, **mode)  # noqa: E731
    np.testing.assert_allclose(j1(x).numpy(), np.diag(4 * xv ** 3))
    second = j2(x).numpy().reshape(2, 2, 2)
    expected2 = np.zeros((2, 2, 2))
    expected2[0, 0, 0], expected2[1, 1, 1] = 12 * xv ** 2
    np.testing.assert_allclose(second, expected2)
    third = jacobian(j2, x, **mode).numpy().reshape(2, 2, 2, 2)
    expected3 = np.zeros((2, 2, 2, 2))
    expected3[0, 0, 0, 0], expected3[1, 1, 1, 1] = 24 * xv
    np.testing.assert_allclose(third, expected3)


def test_hessian_jacobian_of_gradient_agree_and_higher_orders():
    # f = Σ sin(x) x²: hessian equals jacobian of the gradient built with create_graph
    x = rand(4, 5)
    f = lambda a: (a.sin() * a * a).sum()  # noqa: E731
    h = hessian(f, x)
    g = lambda a: vjp(f, a, create_graph=True)[1][0]  # noqa: E731
    np.testing.assert_allclose(jacobian(g, x).numpy(), h.numpy(), rtol=1e-13, atol=1e-14)
    # d/dx Σ H = Σ_j ∂³f/∂x_i∂x_j∂x_k... for a diagonal H: d/dx_i of H_ii = f'''(x_i)
    xv = x.numpy()
    d3 = -xv ** 2 * np.cos(xv) - 6 * xv * np.sin(xv) + 6 * np.cos(xv)
    (dh,) = vjp(lambda a: hessian(f, a, create_graph=True).sum(), x)[1]
    np.testing.assert_allclose(dh.numpy(), d3, rtol=1e-12)


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 7, 100])
def test_vectorize_and_chunk_size_equal_the_loop(chunk_size):
    W1, W2, b = rand((6, 4), 1), rand((3, 6), 2), rand(6, 3)
    x = rand(4, 4)
    f = lambda W1, x: (W2 @ (W1 @ x + b).tanh(), (x * x).sum())  # noqa: E731
    loop = jacobian(f, (W1, x))
    vec = jacobian(f, (W1, x), vectorize=True)
    chunk = jacobian(f, (W1, x), vectorize=True, chunk_size=chunk_size)
    for l, v, c in zip(loop, vec, chunk):
        assert l.shape == v.shape == c.shape
        np.testing.assert_allclose(v.numpy(), l.numpy(), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(c.numpy(), l.numpy(), rtol=1e-14, atol=1e-15)
    h_loop = hessian(lambda x: (W2 @ (W1 @ x).tanh()).sum(), x)
    h_vec = hessian(lambda x: (W2 @ (W1 @ x).tanh()).sum(), x, vectorize=True)
    np.testing.assert_allclose(h_vec.numpy(), h_loop.numpy(), rtol=1e-14, atol=1e-15)


def test_vectorize_with_create_graph_equals_the_loop():
    x = f64([0.3, -0.7, 1.1], requires_grad=True)
    f = lambda a: (a.exp() * a).reshape(3, 1) @ a.reshape(1, 3)  # noqa: E731
    for mode in ({}, {"vectorize": True}, {"vectorize": True, "chunk_size": 4}):
        x.grad = None
        jacobian(f, x, create_graph=True, **mode).sum().backward()
        if not mode:
            ref = x.grad.numpy().copy()
        else:
            np.testing.assert_allclose(x.grad.numpy(), ref, rtol=1e-14)


# ---- errors ------------------------------------------------------------------------------------------

X2 = f64([1.0, 2.0])


def test_chunk_size_errors():
    with pytest.raises(ValueError, match="jacobian: chunk_size is only supported with vectorize=True"):
        jacobian(lambda a: a * 2, X2, chunk_size=2)
    with pytest.raises(ValueError, match="jacobian: chunk_size must be None or a positive int, got 0"):
        jacobian(lambda a: a * 2, X2, vectorize=True, chunk_size=0)
    with pytest.raises(ValueError, match="got -3"):
        jacobian(lambda a: a * 2, X2, vectorize=True, chunk_size=-3)
    with pytest.raises(TypeError, match="jacobian: chunk_size must be None or a positive int, got float"):
        jacobian(lambda a: a * 2, X2, vectorize=True, chunk_size=2.0)
    with pytest.raises(TypeError, match="got bool"):
        jacobian(lambda a: a * 2, X2, vectorize=True, chunk_size=True)
    np.testing.assert_array_equal(jacobian(lambda a: a * 2, X2, vectorize=True, chunk_size=np.int64(1)).numpy(), 2 * np.eye(2))


FAMILY = {
    "jacobian": lambda f, x, **kw: jacobian(f, x, **kw),
    "hessian": lambda f, x, **kw: hessian(f, x, **kw),
    "vjp": lambda f, x, **kw: vjp(f, x, **kw),
    "jvp": lambda f, x, **kw: jvp(f, x, f64([1.0, 1.0]) if isinstance(x, lucid.Tensor) else None, **kw),
    "hvp": lambda f, x, **kw: hvp(f, x, f64([1.0, 1.0]) if isinstance(x, lucid.Tensor) else None, **kw),
    "vhp": lambda f, x, **kw: vhp(f, x, f64([1.0, 1.0]) if isinstance(x, lucid.Tensor) else None, **kw),
}
SCALAR_F = lambda a: (a * a).sum()  # noqa: E731


@pytest.mark.parametrize("fn", list(FAMILY))
def test_input_type_errors(fn):
    call = FAMILY[fn]
    with pytest.raises(TypeError, match=rf"{fn}: inputs must be a Tensor or a tuple of Tensors, got float"):
        call(SCALAR_F, 1.0)
    with pytest.raises(TypeError, match=rf"{fn}: inputs must be a Tensor or a tuple of Tensors, got ndarray"):
        call(SCALAR_F, np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match=rf"{fn}: inputs\[1\] must be a Tensor, got int"):
        call(SCALAR_F, (X2, 3))
    with pytest.raises(TypeError, match=rf"{fn}: inputs must not be empty"):
        call(SCALAR_F, ())
    with pytest.raises(TypeError, match=rf"{fn}: input 0 has dtype int64; only floating point inputs can be differentiated"):
        call(SCALAR_F, lucid.tensor([1, 2]))
    with pytest.raises(TypeError, match=rf"{fn}: input 1 has dtype bool"):
        call(lambda a, b: SCALAR_F(a), (X2, lucid.tensor([True, False])))


@pytest.mark.parametrize("fn", list(FAMILY))
def test_output_type_errors(fn):
    call = FAMILY[fn]
    with pytest.raises(TypeError, match=rf"{fn}: the function must return a Tensor or a tuple of Tensors, got float"):
        call(lambda a: 3.0, X2)
    with pytest.raises(TypeError, match=rf"{fn}: the function must return a Tensor or a tuple of Tensors, got NoneType"):
        call(lambda a: None, X2)
    with pytest.raises(TypeError, match=rf"{fn}: the function must return a Tensor or a tuple of Tensors; output 1 is ndarray"):
        call(lambda a: (a.sum(), np.zeros(2)), X2)
    with pytest.raises(TypeError, match=rf"{fn}: the function returned an empty tuple"):
        call(lambda a: (), X2)


@pytest.mark.parametrize("fn", list(FAMILY))
def test_flag_type_errors(fn):
    call = FAMILY[fn]
    with pytest.raises(TypeError, match=rf"{fn}: create_graph must be a bool, got int"):
        call(SCALAR_F, X2, create_graph=1)
    with pytest.raises(TypeError, match=rf"{fn}: strict must be a bool, got str"):
        call(SCALAR_F, X2, strict="yes")


def test_vectorize_flag_type_errors():
    with pytest.raises(TypeError, match="jacobian: vectorize must be a bool, got NoneType"):
        jacobian(SCALAR_F, X2, vectorize=None)
    with pytest.raises(TypeError, match="hessian: vectorize must be a bool, got int"):
        hessian(SCALAR_F, X2, vectorize=0)


def test_errors_raised_inside_func_propagate_unchanged():
    class Boom(Exception):
        pass

    def f(a):
        raise Boom("inside")

    for call in (lambda: jacobian(f, X2), lambda: hessian(f, X2), lambda: vjp(f, X2), lambda: jvp(f, X2, X2)):
        with pytest.raises(Boom, match="inside"):
            call()
    with pytest.raises(ValueError, match=r"add: shapes \[2\] and \[3\]"):
        jacobian(lambda a: a + lucid.ones(3, dtype=lucid.float64), X2)
    assert lucid.is_grad_enabled()


def test_hessian_and_hvp_need_a_single_element_output():
    with pytest.raises(RuntimeError, match=r"hessian: the function must return a single-element Tensor, got shape \(2,\)"):
        hessian(lambda a: a * a, X2)
    with pytest.raises(TypeError, match="hessian: the function must return a single Tensor, got a tuple of 2"):
        hessian(lambda a: (a.sum(), a.sum()), X2)
    for fn in (hvp, vhp):
        name = fn.__name__
        with pytest.raises(RuntimeError, match=rf"{name}: the function must return a single-element Tensor, got shape \(2,\)"):
            fn(lambda a: a * a, X2, f64([1.0, 1.0]))
        with pytest.raises(TypeError, match=rf"{name}: the function must return a single Tensor, got a tuple of 2"):
            fn(lambda a: (a.sum(), a.sum()), X2, f64([1.0, 1.0]))
    # a one-element tuple and a (1,)-shaped output are accepted
    np.testing.assert_array_equal(hessian(lambda a: ((a * a).sum(),), X2).numpy(), 2 * np.eye(2))
    np.testing.assert_array_equal(hessian(lambda a: (a * a).sum().reshape(1), X2).numpy(), 2 * np.eye(2))


def test_v_errors():
    with pytest.raises(ValueError, match=r"vjp: v can be omitted only when the output is a single one-element Tensor; got output shapes \[\(2,\)\]"):
        vjp(lambda a: a * a, X2)
    with pytest.raises(ValueError, match=r"vjp: v\[0\] has shape \(3,\) but output 0 has shape \(2,\)"):
        vjp(lambda a: a * a, X2, f64([1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="vjp: v has 1 tensors but there are 2 outputs"):
        vjp(lambda a: (a, a), X2, f64([1.0, 1.0]))
    with pytest.raises(TypeError, match=r"vjp: v\[0\] must be a Tensor, got float"):
        vjp(lambda a: a * a, X2, [1.0, 1.0])
    with pytest.raises(TypeError, match="vjp: v must be a Tensor or a tuple of Tensors, got str"):
        vjp(lambda a: a * a, X2, "v")
    with pytest.raises(ValueError, match=r"jvp: v can be omitted only when the input is a single one-element Tensor; got input shapes \[\(2,\)\]"):
        jvp(lambda a: a * a, X2)
    with pytest.raises(ValueError, match=r"jvp: v\[0\] has shape \(3,\) but input 0 has shape \(2,\)"):
        jvp(lambda a: a * a, X2, f64([1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="jvp: v has 1 tensors but there are 2 inputs"):
        jvp(lambda a, b: a * b, (X2, X2), f64([1.0, 1.0]))
    for fn in (hvp, vhp):
        name = fn.__name__
        with pytest.raises(ValueError, match=rf"{name}: v can be omitted only when the input is a single one-element Tensor"):
            fn(SCALAR_F, X2)
        with pytest.raises(ValueError, match=rf"{name}: v\[0\] has shape \(1,\) but input 0 has shape \(2,\)"):
            fn(SCALAR_F, X2, f64([1.0]))
        with pytest.raises(ValueError, match=rf"{name}: v has 2 tensors but there are 1 inputs"):
            fn(SCALAR_F, X2, (X2, X2))


# ---- return structures of the family -------------------------------------------------------------------


def test_hessian_structures():
    # f(a, b) = Σ a² b: H_aa = diag(2b), H_ab = H_ba = diag(2a), H_bb = 0
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    H = hessian(lambda a, b: (a * a * b).sum(), (a, b))
    assert isinstance(H, tuple) and len(H) == 2 and all(isinstance(r, tuple) and len(r) == 2 for r in H)
    np.testing.assert_array_equal(H[0][0].numpy(), np.diag([6.0, 8.0]))
    np.testing.assert_array_equal(H[0][1].numpy(), np.diag([2.0, 4.0]))
    np.testing.assert_array_equal(H[1][0].numpy(), np.diag([2.0, 4.0]))
    np.testing.assert_array_equal(H[1][1].numpy(), np.zeros((2, 2)))
    # blocks of differently shaped inputs: f(W, s) = s Σ W², W 2×2, s 0-d
    W, s = f64([[1.0, 2.0], [3.0, 4.0]]), f64(0.5)
    H = hessian(lambda W, s: (W * W).sum() * s, (W, s))
    assert [[blk.shape for blk in r] for r in H] == [[(4, 4), (4, 1)], [(1, 4), (1, 1)]]
    np.testing.assert_array_equal(H[0][1].numpy().ravel(), 2 * W.numpy().ravel())
    # single input: one (n, n) Tensor; a matrix input is flattened
    h = hessian(lambda W: (W ** 3).sum(), W)
    assert isinstance(h, lucid.Tensor) and h.shape == (4, 4)
    np.testing.assert_array_equal(h.numpy(), np.diag(6 * W.numpy().ravel()))
    # dtype follows the inputs
    assert hessian(lambda a: (a ** 3).sum(), lucid.tensor([1.0, 2.0])).dtype == lucid.float32


def test_vjp_structures():
    x = f64([2.0, 3.0])
    # f = [x0 x1, x0 + x1, x1²], J = [[3, 2], [1, 1], [0, 6]]; vᵀJ for v = (1, 2, 3) = [5, 22]
    f = lambda a: lucid.stack([a[0] * a[1], a[0] + a[1], a[1] * a[1]])  # noqa: E731
    out, grads = vjp(f, x, f64([1.0, 2.0, 3.0]))
    assert isinstance(out, lucid.Tensor) and out.tolist() == [6.0, 5.0, 9.0]
    assert isinstance(grads, tuple) and len(grads) == 1  # always one cotangent per input
    np.testing.assert_array_equal(grads[0].numpy(), [5.0, 22.0])
    # tuple outputs give a tuple of outputs; v is a tuple
    outs, (ga, gb) = vjp(lambda a, b: (a * b, (a + b).sum()), (x, f64([1.0, 1.0])), (f64([1.0, 1.0]), f64(2.0)))
    assert isinstance(outs, tuple) and len(outs) == 2
    np.testing.assert_array_equal(ga.numpy(), [3.0, 3.0])  # b + 2
    np.testing.assert_array_equal(gb.numpy(), [4.0, 5.0])  # a + 2
    # v may be omitted for a single one-element output (also shaped (1,) or (1, 1))
    out, (g,) = vjp(lambda a: (a * a).sum().reshape(1, 1), x)
    assert out.shape == (1, 1)
    np.testing.assert_array_equal(g.numpy(), [4.0, 6.0])
    # cotangent shapes follow the inputs
    W = f64(np.ones((2, 3)))
    _, (gW,) = vjp(lambda W: W.sum(0), W, f64([1.0, 2.0, 3.0]))
    assert gW.shape == (2, 3)
    np.testing.assert_array_equal(gW.numpy(), [[1, 2, 3], [1, 2, 3]])


def test_jvp_structures_and_exactness():
    x = f64([2.0, 3.0])
    f = lambda a: lucid.stack([a[0] * a[1], a[0] + a[1], a[1] * a[1]])  # noqa: E731
    # J v with v = (1, -1): [1, 0, -6]
    out, t = jvp(f, x, f64([1.0, -1.0]))
    assert isinstance(t, lucid.Tensor) and out.tolist() == [6.0, 5.0, 9.0]
    np.testing.assert_array_equal(t.numpy(), [1.0, 0.0, -6.0])
    # a tuple of outputs gives a tuple of tangents, shaped like the outputs
    outs, ts = jvp(lambda a: (a * a, a.sum(), a.reshape(2, 1)), x, f64([1.0, 0.5]))
    assert isinstance(outs, tuple) and isinstance(ts, tuple) and len(ts) == 3
    assert [tuple(t.shape) for t in ts] == [(2,), (), (2, 1)]
    np.testing.assert_array_equal(ts[0].numpy(), [4.0, 3.0])
    assert ts[1].item() == 1.5
    # exact to round-off for a transcendental function (not a finite difference)
    xv, vv = np.array([0.3, -1.1, 2.5]), np.array([0.7, 1.3, -0.4])
    _, t = jvp(lambda a: a.sin() * a * a, f64(xv), f64(vv))
    np.testing.assert_allclose(t.numpy(), (np.cos(xv) * xv ** 2 + 2 * xv * np.sin(xv)) * vv, rtol=1e-15, atol=1e-16)
    # v may be omitted for a single one-element input
    out, t = jvp(lambda a: a ** 3, f64(2.0))
    assert out.item() == 8.0 and t.item() == 12.0
    # an output independent of the inputs gets a zero tangent
    _, ts = jvp(lambda a: (a * 2, lucid.ones(3, dtype=lucid.float64)), x, f64([1.0, 1.0]))
    np.testing.assert_array_equal(ts[1].numpy(), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("fn", [hvp, vhp])
def test_hvp_vhp_structures(fn):
    # Rosenbrock at (1, 2): H = [[402, -400], [-400, 200]], H (1, 1) = (2, -200)
    rosen = lambda v: (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2  # noqa: E731
    out, p = fn(rosen, f64([1.0, 2.0]), f64([1.0, 1.0]))
    assert isinstance(p, lucid.Tensor) and out.item() == 100.0
    np.testing.assert_allclose(p.numpy(), [2.0, -200.0], rtol=1e-14)
    # tuple inputs give a tuple of products: f = Σ a² b, H v = (2b va + 2a vb, 2a va)
    out, ps = fn(lambda a, b: (a * a * b).sum(), (f64([1.0, 2.0]), f64([3.0, 4.0])), (f64([1.0, 0.0]), f64([0.0, 1.0])))
    assert isinstance(ps, tuple) and len(ps) == 2
    np.testing.assert_array_equal(ps[0].numpy(), [6.0, 4.0])
    np.testing.assert_array_equal(ps[1].numpy(), [2.0, 0.0])
    # a 0-d input may omit v
    out, p = fn(lambda a: a ** 4, f64(2.0))
    assert p.item() == 48.0  # 12 x² · 1
    # create_graph: d/dx of Σ H v for f = Σ x⁴, H v = 12 x² v ⇒ 24 x v
    x = f64([1.0, 2.0], requires_grad=True)
    _, p = fn(lambda a: (a ** 4).sum(), x, f64([1.0, 3.0]), create_graph=True)
    p.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [24.0, 144.0])


def test_hvp_equals_hessian_times_v():
    W = rand((5, 4), 7)
    f = lambda x: (W @ x).tanh().sum() + (x ** 3).sum() / 10  # noqa: E731
    x, v = rand(4, 8), rand(4, 9)
    H = hessian(f, x).numpy()
    np.testing.assert_allclose(hvp(f, x, v)[1].numpy(), H @ v.numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(vhp(f, x, v)[1].numpy(), v.numpy() @ H, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(H, H.T, rtol=1e-13, atol=1e-15)


# ---- gradcheck ----------------------------------------------------------------------------------------


def test_gradcheck_passes_on_good_functions():
    x = f64([0.3, 1.2, -0.8])
    W = rand((2, 3), 5)
    assert gradcheck(lambda a: a.sin() * a ** 2, x) is True
    assert gradcheck(lambda W, a: (W @ a).tanh(), (W, x)) is True
    assert gradcheck(lambda a: (a.exp().sum(), a[1:] / (1 + a[:-1] ** 2)), x) is True
    # float32 inputs are checked in float64 copies
    assert gradcheck(lambda a: a * a, lucid.tensor([1.0, 2.0])) is True


def test_gradcheck_names_the_worst_entry_of_a_wrong_function():
    # f(a) = a · detach(a): true derivative 2a, the graph only knows a. The worst
    # error is at the largest |a|: element 2 (a = 3), analytic 3 vs numerical 6.
    x = f64([1.0, -2.0, 3.0])
    with pytest.raises(GradcheckError, match=r"input 0 at output row 2, input element 2 \(the worst entry\): analytic 3\.0 vs numerical 6\.0"):
        gradcheck(lambda a: a * a.detach(), x)
    assert issubclass(GradcheckError, RuntimeError)
    assert gradcheck(lambda a: a * a.detach(), x, raise_exception=False) is False
    # the worst entry across several inputs: input 1 is wrong by 3·4 = 12 at element 1
    a, b = f64([1.0, 1.0]), f64([1.0, 4.0])
    with pytest.raises(GradcheckError, match=r"input 1 at output row 0, input element 1 \(the worst entry\): analytic 16\.0"):
        gradcheck(lambda a, b: (a * a.detach() + b * b.detach() * b.detach()).sum().reshape(1) * lucid.ones(2, dtype=lucid.float64), (a, b))


def test_gradcheck_errors():
    with pytest.raises(TypeError, match=r"gradcheck: inputs\[0\] must be a Tensor, got float"):
        gradcheck(lambda a: a, [1.0])
    with pytest.raises(TypeError, match="gradcheck: input 0 has dtype int64; only floating point inputs can be differentiated"):
        gradcheck(lambda a: a, lucid.tensor([1, 2]))


# ---- threads ----------------------------------------------------------------------------------------------


def test_two_python_threads_compute_jacobians_at_once():
    """The sweeps run with the GIL released; concurrent Jacobians must not interfere."""
    import threading

    W = rand((16, 8), 21)
    results, errors = {}, []
    start = threading.Barrier(2)

    def worker(t):
        try:
            x = rand(8, 30 + t)
            z = W.numpy() @ x.numpy()
            want = (1 - np.tanh(z) ** 2)[:, None] * W.numpy()  # J of tanh(W x) w.r.t. x
            start.wait()
            for k in range(20):
                j = jacobian(lambda x: (W @ x).tanh(), x, vectorize=bool(k % 2))
                np.testing.assert_allclose(j.numpy(), want, rtol=1e-13, atol=1e-15)
            results[t] = True
        except Exception as exc:  # reported below: pytest does not see thread exceptions
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert results == {0: True, 1: True}
    assert not W.requires_grad


def test_rows_are_swept_in_rust_with_the_gil_released():
    """vectorize=False sweeps its rows in Rust after one call of func, with the GIL
    released: another Python thread keeps running while the rows are swept. (The last
    op, a product with the identity, makes every cotangent of the chain dense, so the
    sweep lasts tens of milliseconds, longer than the interpreter's 5 ms switch
    interval: a diagonal chain is swept too fast to tell.)"""
    import threading
    import time

    marks, samples, stop = {}, [], threading.Event()
    eye = lucid.tensor(np.eye(200))

    def f(a):
        for _ in range(2000):
            a = a * 1.0001 + 0.001
        out = eye @ a
        marks["recorded"] = time.perf_counter()  # from here on only Rust works
        return out

    def spin():
        while not stop.is_set():
            samples.append(time.perf_counter())

    x = lucid.tensor(np.linspace(0.1, 1.0, 200))
    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        seen = Counter(f)
        j = jacobian(seen, x)
        done = time.perf_counter()
    finally:
        stop.set()
        spinner.join()
    assert seen.calls == 1
    np.testing.assert_allclose(j.numpy(), 1.0001 ** 2000 * np.eye(200), rtol=1e-12)
    lo, hi = marks["recorded"], done
    middle = [s for s in samples if lo + 0.25 * (hi - lo) < s < hi - 0.25 * (hi - lo)]
    # with the GIL held for the whole sweep the spinner could not record anything here
    assert len(middle) > 50, (hi - lo, len(middle))
