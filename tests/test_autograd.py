"""Reverse-mode semantics from Python: backward, lucid.autograd.grad/backward, grad
mode (no_grad, enable_grad, set_grad_enabled), retain_graph, create_graph to third
order, allow_unused and grad_outputs. Derivatives are hand-derived in comments."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import lucid
from lucid.autograd import backward, grad


def f64(values, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ---- backward ------------------------------------------------------------------------------


def test_backward_fills_leaf_grad():
    # y = Σ (x² + 3x), dy/dx = 2x + 3
    x = f64([1.0, -2.0, 0.5], requires_grad=True)
    y = (x * x + 3 * x).sum()
    assert y.backward() is None
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, -1.0, 4.0])
    assert x.grad.dtype == lucid.float64
    assert not x.grad.requires_grad


def test_backward_accumulates_across_calls():
    # y = Σ x³, dy/dx = 3x²; two backward calls give 6x²
    x = f64([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward()
    (x ** 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 24.0])
    x.grad = None
    (x ** 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 12.0])


def test_backward_with_gradient_argument():
    # y = x², seed v: x.grad = 2 x v
    x = f64([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(f64([1.0, 0.5, -1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, -6.0])


def test_backward_only_fills_leaves_that_require_grad():
    a = f64([1.0, 2.0], requires_grad=True)
    b = f64([3.0, 4.0])  # no grad
    h = a * b
    (h * h).sum().backward()
    # d/da Σ (ab)² = 2 a b²
    np.testing.assert_array_equal(a.grad.numpy(), [18.0, 64.0])
    assert b.grad is None
    assert h.grad is None  # non-leaves keep no grad


def test_backward_of_a_0d_scalar_and_of_a_one_element_tensor():
    x = f64(2.0, requires_grad=True)
    (x * x * x).backward()  # 3x² = 12
    assert x.grad.item() == 12.0
    z = f64([3.0], requires_grad=True)
    (z * z).backward()  # one element: implicit ones seed; 2z = 6
    assert z.grad.tolist() == [6.0]


def test_backward_shared_subexpressions_and_diamonds():
    # h = x², y = h·h + h  ⇒ dy/dx = (2h + 1)·2x = 4x³ + 2x
    x = f64([1.0, -0.5], requires_grad=True)
    h = x * x
    (h * h + h).sum().backward()
    xv = np.array([1.0, -0.5])
    np.testing.assert_allclose(x.grad.numpy(), 4 * xv ** 3 + 2 * xv, rtol=1e-15)


def test_module_backward_with_several_tensors():
    # backward([Σ a², Σ 3a], [1, 2]) = 2a + 6
    a = f64([1.0, 2.0], requires_grad=True)
    backward([(a * a).sum(), (3 * a).sum()], [None, f64(2.0)])
    np.testing.assert_array_equal(a.grad.numpy(), [8.0, 10.0])
    b = f64([1.0], requires_grad=True)
    backward((b * 5).sum())
    assert b.grad.tolist() == [5.0]


# ---- retain_graph -------------------------------------------------------------------------------


def test_second_backward_without_retain_graph_raises():
    x = f64([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    # the first gradient is intact: d(x eˣ) = (1 + x) eˣ
    np.testing.assert_allclose(x.grad.numpy(), (1 + np.array([1.0, 2.0])) * np.exp([1.0, 2.0]), rtol=1e-15)


def test_retain_graph_allows_a_second_backward():
    x = f64([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (1 + np.array([1.0, 2.0])) * np.exp([1.0, 2.0]), rtol=1e-15)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_grad_frees_the_graph_unless_retained():
    x = f64([1.0], requires_grad=True)
    y = (x.sin() * x).sum()
    grad(y, x, retain_graph=True)
    grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        grad(y, x)
    # create_graph implies retain_graph by default
    z = (x.sin() * x).sum()
    grad(z, x, create_graph=True)
    grad(z, x)


# ---- grad ----------------------------------------------------------------------------------


def test_grad_returns_a_tuple_and_leaves_dot_grad_alone():
    # y = Σ a b, dy/da = b, dy/db = a
    a = f64([1.0, 2.0], requires_grad=True)
    b = f64([3.0, 4.0], requires_grad=True)
    g = grad((a * b).sum(), [a, b])
    assert isinstance(g, tuple) and len(g) == 2
    np.testing.assert_array_equal(g[0].numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(g[1].numpy(), [1.0, 2.0])
    assert a.grad is None and b.grad is None
    g1 = grad((a * b).sum(), a)  # a single input also gives a tuple
    assert isinstance(g1, tuple) and len(g1) == 1
    a.grad = f64([9.0, 9.0])
    grad((a * b).sum(), a)
    assert a.grad.tolist() == [9.0, 9.0]


def test_grad_with_respect_to_an_intermediate():
    # y = Σ h², h = 3x: dy/dh = 2h
    x = f64([1.0, 2.0], requires_grad=True)
    h = 3 * x
    (gh,) = grad((h * h).sum(), h)
    np.testing.assert_array_equal(gh.numpy(), [6.0, 12.0])


def test_grad_and_backward_of_leaves_and_repeated_inputs():
    # d x / d x = 1 (a leaf as its own output)
    x = f64([2.0], requires_grad=True)
    x.backward()
    assert x.grad.tolist() == [1.0]
    (g,) = grad(x, x, grad_outputs=f64([3.0]))
    assert g.tolist() == [3.0]
    # the same input listed twice gets the same gradient twice: d Σ x² = 2x
    ga, gb = grad((x * x).sum(), [x, x])
    assert ga.tolist() == gb.tolist() == [4.0]


def test_grad_outputs_shapes():
    x = f64([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x  # J = diag(2x)
    (g,) = grad(y, x, grad_outputs=f64([1.0, 0.0, 2.0]), retain_graph=True)
    np.testing.assert_array_equal(g.numpy(), [2.0, 0.0, 12.0])
    (g,) = grad([y], [x], grad_outputs=[f64([1.0, 1.0, 1.0])], retain_graph=True)
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0, 6.0])
    # a matrix output needs a matrix cotangent: y2 = x xᵀ, vᵀ J = (V + Vᵀ) x
    y2 = x.reshape(3, 1) @ x.reshape(1, 3)
    v = np.arange(9.0).reshape(3, 3)
    (g,) = grad(y2, x, grad_outputs=lucid.tensor(v))
    np.testing.assert_allclose(g.numpy(), (v + v.T) @ np.array([1.0, 2.0, 3.0]))
    # a 0-d output takes a 0-d cotangent
    z = (x * x).sum()
    (g,) = grad(z, x, grad_outputs=f64(0.5))
    np.testing.assert_array_equal(g.numpy(), [1.0, 2.0, 3.0])


def test_grad_outputs_errors():
    x = f64([1.0, 2.0], requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match=r"one-element outputs.*\[2\]"):
        grad(y, x, retain_graph=True)
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] has shape \[3\] but output 0 has shape \[2\]"):
        grad(y, x, grad_outputs=f64([1.0, 1.0, 1.0]), retain_graph=True)
    with pytest.raises(ValueError, match="1 outputs but 2 grad_outputs"):
        grad(y, x, grad_outputs=[f64([1.0, 1.0]), f64([1.0, 1.0])], retain_graph=True)


def test_grad_outputs_of_another_float_dtype_are_converted():
    x = f64([1.0, 2.0], requires_grad=True)
    (g,) = grad(x * x, x, grad_outputs=lucid.tensor([1.0, 1.0]))  # float32 cotangent
    assert g.dtype == lucid.float64
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])


def test_allow_unused():
    a = f64([1.0, 2.0], requires_grad=True)
    b = f64([3.0], requires_grad=True)
    y = (a * a).sum()
    with pytest.raises(RuntimeError, match="input 1 was not used.*allow_unused=True"):
        grad(y, [a, b], retain_graph=True)
    ga, gb = grad(y, [a, b], allow_unused=True)
    np.testing.assert_array_equal(ga.numpy(), [2.0, 4.0])
    assert gb is None


def test_grad_of_outputs_that_do_not_require_grad():
    x = f64([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad(f64([1.0]).sum(), x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        f64([1.0]).sum().backward()
    with pytest.raises(RuntimeError, match="input 0 does not require grad"):
        grad((x * 2).sum(), f64([1.0]))


# ---- create_graph ------------------------------------------------------------------------------


def test_create_graph_second_and_third_order():
    # y = x³: y' = 3x², y'' = 6x, y''' = 6
    x = f64([-1.0, 0.5, 2.0], requires_grad=True)
    xv = np.array([-1.0, 0.5, 2.0])
    y = (x ** 3).sum()
    (g1,) = grad(y, x, create_graph=True)
    assert g1.requires_grad
    np.testing.assert_allclose(g1.numpy(), 3 * xv ** 2, rtol=1e-15)
    (g2,) = grad(g1.sum(), x, create_graph=True)
    np.testing.assert_allclose(g2.numpy(), 6 * xv, rtol=1e-15)
    (g3,) = grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), [6.0, 6.0, 6.0], rtol=1e-15)
    assert not g3.requires_grad


def test_create_graph_mixed_partials():
    # f(a, b) = a² b³: ∂f/∂a = 2ab³, ∂²f/∂b∂a = 6ab²
    a = f64(1.5, requires_grad=True)
    b = f64(-2.0, requires_grad=True)
    f = a * a * b ** 3
    (ga,) = grad(f, a, create_graph=True)
    assert ga.item() == pytest.approx(2 * 1.5 * (-2.0) ** 3)
    (gab,) = grad(ga, b)
    assert gab.item() == pytest.approx(6 * 1.5 * 4.0)


def test_backward_with_create_graph_gives_differentiable_grad():
    # x.grad = 3x² (differentiable), then d/dx Σ x.grad = 6x
    x = f64([1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    gx = x.grad
    assert gx.requires_grad
    (g2,) = grad(gx.sum(), x)
    np.testing.assert_array_equal(g2.numpy(), [6.0, 12.0])


def test_transcendental_second_derivatives():
    # y = sin(x)·exp(x): y'' = 2 cos(x) exp(x)
    xv = np.array([0.1, 1.3, -0.7])
    x = f64(xv, requires_grad=True)
    (g1,) = grad((x.sin() * x.exp()).sum(), x, create_graph=True)
    (g2,) = grad(g1.sum(), x)
    np.testing.assert_allclose(g2.numpy(), 2 * np.cos(xv) * np.exp(xv), rtol=1e-14)
    # y = tanh(x): y'' = -2 tanh(x) (1 - tanh²(x))
    x = f64(xv, requires_grad=True)
    (g1,) = grad(x.tanh().sum(), x, create_graph=True)
    (g2,) = grad(g1.sum(), x)
    t = np.tanh(xv)
    np.testing.assert_allclose(g2.numpy(), -2 * t * (1 - t ** 2), rtol=1e-13)


# ---- grad mode --------------------------------------------------------------------------------


def test_no_grad_records_nothing():
    x = f64([1.0, 2.0], requires_grad=True)
    with lucid.no_grad():
        assert not lucid.is_grad_enabled()
        y = x * 2 + x.exp()
        assert not y.requires_grad and y.is_leaf and y.grad_fn is None
    assert lucid.is_grad_enabled()
    assert (x * 2).requires_grad


def test_no_grad_as_decorator_and_nested_enable_grad():
    x = f64([1.0], requires_grad=True)

    @lucid.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with lucid.no_grad():
        with lucid.enable_grad():
            assert lucid.is_grad_enabled()
            assert (x * 2).requires_grad
        assert not lucid.is_grad_enabled()
    assert lucid.is_grad_enabled()


def test_set_grad_enabled():
    x = f64([1.0], requires_grad=True)
    with lucid.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with lucid.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not lucid.is_grad_enabled()
    assert lucid.is_grad_enabled()
    # called as a function it sets the mode until set back (as PyTorch)
    lucid.set_grad_enabled(False)
    try:
        assert not lucid.is_grad_enabled()
    finally:
        lucid.set_grad_enabled(True)
    assert lucid.is_grad_enabled()


def test_set_grad_enabled_as_a_decorator():
    x = f64([1.0], requires_grad=True)

    @lucid.set_grad_enabled(False)
    def f(t):
        assert not lucid.is_grad_enabled()
        return t * 2

    assert lucid.is_grad_enabled(), "decorating must not change the caller's grad mode"
    assert not f(x).requires_grad
    assert lucid.is_grad_enabled()

    @lucid.set_grad_enabled(True)
    def g(t):
        return t * 2

    with lucid.no_grad():
        assert g(x).requires_grad  # the decorator's mode applies inside the call
        assert not lucid.is_grad_enabled()  # and the mode at the call is restored


def test_grad_mode_decorators_are_reentrant():
    x = f64([1.0], requires_grad=True)

    @lucid.no_grad()
    def down(n):
        if n:
            with lucid.enable_grad():
                assert lucid.is_grad_enabled()
                down(n - 1)
                assert lucid.is_grad_enabled()
        assert not lucid.is_grad_enabled()
        return x * 2

    assert not down(3).requires_grad
    assert lucid.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with lucid.no_grad():
            1 / 0
    assert lucid.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = {}

    def worker():
        x = f64([1.0], requires_grad=True)
        seen["enabled"] = lucid.is_grad_enabled()
        seen["records"] = (x * 2).requires_grad

    with lucid.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not lucid.is_grad_enabled()
    assert seen == {"enabled": True, "records": True}


def test_autograd_reexports_grad_mode():
    assert lucid.autograd.no_grad is lucid.no_grad
    assert lucid.autograd.enable_grad is lucid.enable_grad
    assert lucid.autograd.is_grad_enabled is lucid.is_grad_enabled


# ---- gradients through every foundation op, end to end --------------------------------------------


def test_gradient_of_a_small_mlp_loss_by_hand():
    # L = Σ (W x - t)², ∂L/∂W = 2 (W x - t) xᵀ, ∂L/∂x = 2 Wᵀ (W x - t)
    rng = np.random.default_rng(0)
    Wv, xv, tv = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    W, x = f64(Wv, requires_grad=True), f64(xv, requires_grad=True)
    r = W @ x - f64(tv)
    (r * r).sum().backward()
    rv = Wv @ xv - tv
    np.testing.assert_allclose(W.grad.numpy(), 2 * np.outer(rv, xv), rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), 2 * Wv.T @ rv, rtol=1e-14)


def test_gradient_through_views_stack_cat_and_indexing():
    # y = Σ stack([x[0], x[1]·2]) + Σ cat([x, x])[1::2]:
    # d/dx of the first term = [1, 2, 0, 0]; the second picks indices 1, 3, 5, 7 of cat([x, x]) = x1, x3, x1, x3
    x = f64([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = lucid.stack([x[0], x[1] * 2]).sum() + lucid.cat([x, x])[1::2].sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 4.0, 0.0, 2.0])
    # y = Σ permute(X)ᵀ · reshape(X): X 2×3, y = Σ_ij X_ij²  ⇒  2X
    X = f64(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (X.permute(1, 0).T * X.reshape(2, 3)).sum().backward()
    np.testing.assert_array_equal(X.grad.numpy(), 2 * np.arange(6.0).reshape(2, 3))


def test_mean_and_sum_dims_gradients():
    X = f64(np.arange(6.0).reshape(2, 3), requires_grad=True)
    X.mean().backward()
    np.testing.assert_array_equal(X.grad.numpy(), np.full((2, 3), 1 / 6))
    X.grad = None
    (X.sum(0) * f64([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(X.grad.numpy(), [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    X.grad = None
    (X.mean(1, keepdim=True) * f64([[1.0], [2.0]])).sum().backward()
    np.testing.assert_allclose(X.grad.numpy(), [[1 / 3] * 3, [2 / 3] * 3])


def test_float32_gradients_stay_float32():
    x = lucid.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.dtype == lucid.float32
    # a float32 leaf used in float64 arithmetic gets a float32 gradient back
    y = lucid.tensor([1.0, 2.0], requires_grad=True)
    (y * f64([3.0, 4.0])).sum().backward()
    assert y.grad.dtype == lucid.float32
    np.testing.assert_array_equal(y.grad.numpy(), [3.0, 4.0])


def test_deep_chain_from_python():
    # 20 000 chained adds backpropagate without recursion: dy/dx = 1
    x = f64([0.0], requires_grad=True)
    y = x
    for _ in range(20_000):
        y = y + 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    assert y.item() == 20_000.0
    del y
