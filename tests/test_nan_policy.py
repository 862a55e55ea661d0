"""NaN and infinite local derivatives: one rule in every strategy.

NOTE [zero in, zero out] (crates/lucid-core/src/ops/mod.rs): an entry that comes into a
derivative rule as exactly 0 (a cotangent in reverse mode, a tangent in forward mode)
contributes exactly 0, even through an infinite or undefined local derivative
(0 * inf := 0). A nonzero entry that meets one still gives inf or NaN. So every reverse
strategy gives the same Jacobian entries bit for bit, and so does every forward one;
reverse and forward mode differ only where an infinity met a nonzero weight (the
chain-rule products do not associate there). HIPS autograd multiplies the zeros
(0 * inf = NaN, as PyTorch), so it is the oracle wherever it is finite.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import lucid
from lucid.autograd import grad, hessian, jacobian, jvp, vjp

nan = float("nan")

REVERSE = (
    {"strategy": "reverse-mode"},
    {"strategy": "reverse-mode", "vectorize": True},
    {"strategy": "reverse-mode", "vectorize": True, "chunk_size": 2},
    {"strategy": "reverse-mode", "create_graph": True},
    {"strategy": "reverse-mode", "vectorize": True, "create_graph": True},
    {"strategy": "reverse-mode", "sparse": True},
)
FORWARD = (
    {"strategy": "forward-mode", "vectorize": True},
    {"strategy": "forward-mode", "vectorize": True, "chunk_size": 2},
    {"strategy": "forward-mode", "vectorize": True, "create_graph": True},
    {"strategy": "forward-mode", "sparse": True},
)


def x64(values):
    return lucid.tensor(np.array(values, dtype=np.float64))


def dense(J):
    """A Jacobian as a NumPy array, whether a Tensor (maybe in a graph) or SciPy sparse."""
    return J.toarray() if hasattr(J, "toarray") else J.detach().numpy()


def std_then_identity(x):
    # row 0: the std of one element (0, with the 0/0 derivative of sqrt at 0);
    # rows 1-3: x itself, so their derivative is the identity whatever row 0 does
    return lucid.cat([x[:1].std(correction=0).reshape(1), x])


def atan2_of_zeros(x):
    return lucid.atan2(x - x, x - x)


def sqrt_of_zeros(x):
    return (x - x).sqrt()


def sqrt_at_zero_then_identity(x):
    # sqrt(x0 - 1) at x0 = 1: an infinite slope that a nonzero weight does meet
    return lucid.cat([(x[:1] - 1.0).sqrt(), x])


# (function, reverse-mode Jacobian, forward-mode Jacobian) at x = [1, 2, 3]
I3 = np.eye(3)
CASES = {
    # the std of one element is identically 0, so its row is exactly 0 in both modes
    # (as HIPS autograd; the chain rule through sqrt would give inf * 0 = NaN), and the
    # zero weight of rows 1-3 on it contributes nothing
    "std_then_identity": (
        std_then_identity,
        np.vstack([[0, 0, 0], I3]),
        np.vstack([[0, 0, 0], I3]),
    ),
    # d atan2(y, x) = (x dy - y dx) / (x² + y²): 0/0 on the diagonal in reverse mode;
    # forward mode carries the tangent 1 - 1 = 0 in
    "atan2_of_zeros": (atan2_of_zeros, np.diag([nan, nan, nan]), np.zeros((3, 3))),
    "sqrt_of_zeros": (sqrt_of_zeros, np.diag([nan, nan, nan]), np.zeros((3, 3))),
    # the infinity meets weight 1 in both modes: the same entries everywhere
    "sqrt_at_zero_then_identity": (
        sqrt_at_zero_then_identity,
        np.vstack([[np.inf, 0, 0], I3]),
        np.vstack([[np.inf, 0, 0], I3]),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("kwargs", REVERSE, ids=str)
def test_every_reverse_strategy_follows_the_rule(name, kwargs):
    f, want, _ = CASES[name]
    got = dense(jacobian(f, x64([1.0, 2.0, 3.0]), **kwargs))
    np.testing.assert_array_equal(got, want)  # NaN where want has NaN, bit for bit elsewhere


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("kwargs", FORWARD, ids=str)
def test_every_forward_strategy_follows_the_rule(name, kwargs):
    f, _, want = CASES[name]
    got = dense(jacobian(f, x64([1.0, 2.0, 3.0]), **kwargs))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_zero_weight_gives_no_nan_in_grad_vjp_and_backward(create_graph):
    # the case: the std row weighted 0, row 1 (= x0) weighted 1, so the
    # gradient is e0 exactly; multiplying the zero weight by sqrt's infinite slope
    # (PyTorch, HIPS autograd) gives [nan, 0, 0]
    v = x64([0.0, 1.0, 0.0, 0.0])
    x = x64([1.0, 2.0, 3.0]).requires_grad_()
    (g,) = grad(std_then_identity(x), x, v, create_graph=create_graph)
    assert g.tolist() == [1.0, 0.0, 0.0]
    _, g = vjp(std_then_identity, x64([1.0, 2.0, 3.0]), v, create_graph=create_graph)
    g = g[0] if isinstance(g, tuple) else g
    assert g.tolist() == [1.0, 0.0, 0.0]
    x = x64([1.0, 2.0, 3.0]).requires_grad_()
    std_then_identity(x).backward(v, create_graph=create_graph)
    assert x.grad.tolist() == [1.0, 0.0, 0.0]
    # forward mode: a tangent along x1 never reaches the std
    _, t = jvp(std_then_identity, x64([1.0, 2.0, 3.0]), x64([0.0, 1.0, 0.0]), create_graph=create_graph)
    assert t.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_atan2_with_a_zero_weight():
    x = x64([1.0, 2.0, 3.0]).requires_grad_()
    (g,) = grad(atan2_of_zeros(x), x, x64([0.0, 1.0, 0.0]))
    got = g.numpy()
    assert np.isnan(got[1]) and got[0] == 0.0 and got[2] == 0.0


def test_second_order_follows_the_rule():
    # the gradient of v . f is e0 for every x, so its Jacobian is 0: the recorded
    # where of the first sweep must keep the zero weight out of the second
    v = x64([0.0, 1.0, 0.0, 0.0])
    x0 = x64([1.0, 2.0, 3.0])
    def g(x):
        g = vjp(std_then_identity, x, v, create_graph=True)[1]
        return g[0] if isinstance(g, tuple) else g

    for kwargs in REVERSE[:5] + FORWARD[:3]:
        assert dense(jacobian(g, x0, **kwargs)).tolist() == np.zeros((3, 3)).tolist(), kwargs
    # and a Hessian through an infinite slope that only a zero weight reaches (HIPS
    # autograd and PyTorch: NaN in row and column 0)
    h = hessian(lambda x: (x * x).sum() + 0.0 * (x[:1] - 1.0).sqrt().sum(), x0)
    assert h.tolist() == (2 * np.eye(3)).tolist()


def hips(f, x):
    return np.asarray(autograd.jacobian(f)(x))


HIPS = {
    "std_then_identity": lambda x: anp.concatenate([anp.std(x[:1]).reshape(1), x]),
    "sqrt_at_zero_then_identity": lambda x: anp.concatenate([anp.sqrt(x[:1] - 1.0), x]),
    "atan2_of_zeros": lambda x: anp.arctan2(x - x, x - x),
}


@pytest.mark.parametrize("name", sorted(HIPS))
def test_agrees_with_hips_autograd_wherever_it_is_finite(name):
    x = np.array([1.0, 2.0, 3.0])
    with np.errstate(all="ignore"):
        want = hips(HIPS[name], x)
    f = CASES[name][0]
    for kwargs in REVERSE:
        got = dense(jacobian(f, x64(x), **kwargs))
        finite = np.isfinite(want)
        np.testing.assert_array_equal(got[finite], want[finite], err_msg=str(kwargs))
        # where HIPS has NaN from 0 * inf, Lucid has the rule's entries (checked above)
        np.testing.assert_array_equal(got, CASES[name][1])


def test_a_finite_result_is_untouched():
    # the guard only ever replaces non-finite entries; values elsewhere are bit for bit
    x = x64([0.3, 1.7, 2.9])
    f = lambda x: (x.sin() * x).exp() / (x * x + 1.0)
    want = hips(lambda x: anp.exp(anp.sin(x) * x) / (x * x + 1.0), x.numpy())
    for kwargs in REVERSE + FORWARD:
        np.testing.assert_allclose(dense(jacobian(f, x, **kwargs)), want, rtol=1e-14, atol=0)
