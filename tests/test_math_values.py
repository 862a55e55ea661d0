"""Behaviour of the math family beyond the conformance table: values and gradients at
the points where a choice is made (ties, bounds, zeros, the norm at 0), PyTorch-style
signatures and return types, erf's accuracy, and property tests."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lucid
from lucid.autograd import grad, hessian, jacobian


def f64(values, requires_grad=False):
    return lucid.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def test_erf_is_accurate_to_1e15_relative():
    # CPython's math.erf is within an ulp or so of the true value
    x = np.concatenate([np.linspace(-6, 6, 4001), np.geomspace(1e-300, 1e-3, 200)])
    got = lucid.erf(f64(x)).numpy()
    want = np.array([math.erf(v) for v in x])
    nz = want != 0
    assert np.max(np.abs(got - want)[nz] / np.abs(want[nz])) < 1.2e-15
    assert lucid.erf(f64([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert np.isnan(lucid.erf(f64([np.nan])).item())


def test_isnan_isfinite_isinf_are_bool_masks():
    x = f64([1.0, np.nan, np.inf, -np.inf])
    assert x.isnan().dtype == lucid.bool
    assert x.isnan().tolist() == [False, True, False, False]
    assert lucid.isfinite(x).tolist() == [True, False, False, False]
    assert lucid.isinf(x).tolist() == [False, False, True, True]
    assert lucid.where(x.isfinite(), x, 0.0).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert lucid.tensor([1, 2]).isfinite().tolist() == [True, True]


def test_max_with_a_dim_returns_values_and_indices_like_pytorch():
    x = f64([[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]], requires_grad=True)
    out = x.max(1)
    values, indices = out
    assert values.tolist() == [5.0, 7.0] and out.values.tolist() == [5.0, 7.0]
    assert indices.tolist() == [1, 0] and indices.dtype == lucid.int64  # first of the tied
    assert out[0].tolist() == [5.0, 7.0]
    low = lucid.min(x, dim=0, keepdim=True)
    assert low.values.shape == (1, 3) and low.indices.tolist() == [[0, 1, 0]]
    assert x.max().item() == 7.0 and lucid.min(x).item() == 0.0
    assert x.max(f64(6.0)).tolist() == [[6.0, 6.0, 6.0], [7.0, 6.0, 7.0]]  # elementwise maximum
    assert x.argmax().item() == 3 and x.argmin(1, keepdim=True).tolist() == [[0], [1]]


def test_max_ties_split_the_gradient_evenly():
    # three-way tie: 1/3 each (central differences cannot see this; they give 1/2)
    x = f64([1.0, 4.0, 4.0, 4.0], requires_grad=True)
    (g,) = grad(x.max(), x)
    np.testing.assert_allclose(g.numpy(), [0, 1 / 3, 1 / 3, 1 / 3], rtol=1e-15)
    (g,) = grad(x.max(0).values, x)
    np.testing.assert_allclose(g.numpy(), [0, 1 / 3, 1 / 3, 1 / 3], rtol=1e-15)
    y = f64([[2.0, 2.0], [3.0, 1.0]], requires_grad=True)
    (g,) = grad(lucid.amin(y, 1).sum(), y)
    assert g.tolist() == [[0.5, 0.5], [0.0, 1.0]]


def test_prod_gradients_at_zeros():
    x = f64([2.0, 0.0, 3.0], requires_grad=True)
    (g,) = grad(x.prod(), x)
    assert g.tolist() == [0.0, 6.0, 0.0]  # one zero: the product of the others
    y = f64([0.0, 0.0, 3.0], requires_grad=True)
    assert grad(y.prod(), y)[0].tolist() == [0.0, 0.0, 0.0]  # two zeros: nothing
    # second derivatives at a zero: H_ij = prod of the entries other than i and j
    h = hessian(lambda v: v.prod(), f64([2.0, 0.0, 3.0]))
    assert h.tolist() == [[0.0, 3.0, 0.0], [3.0, 0.0, 2.0], [0.0, 2.0, 0.0]]


def test_cumprod_gradient_at_zeros():
    j = jacobian(lambda v: v.cumprod(0), f64([2.0, 0.0, 3.0, 4.0]))
    # y = (x0, x0x1, x0x1x2, x0x1x2x3) at x1 = 0
    assert j.tolist() == [[1, 0, 0, 0], [0, 2, 0, 0], [0, 6, 0, 0], [0, 24, 0, 0]]


def test_clamp_gradient_at_the_bounds_follows_pytorch():
    x = f64([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    (g,) = grad(x.clamp(0.0, 1.0).sum(), x)
    assert g.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]  # bounds included
    lo = f64([0.0] * 5, requires_grad=True)
    hi = f64(1.0, requires_grad=True)
    gx, glo, ghi = grad(lucid.clamp(x, lo, hi).sum(), (x, lo, hi))
    assert gx.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert glo.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert ghi.item() == 1.0  # summed over the broadcast
    # min > max: everything is max
    assert x.clamp(3.0, 1.0).tolist() == [1.0] * 5
    assert lucid.tensor([1, 5, 9]).clamp(2, 6).tolist() == [2, 5, 6]  # integers stay integers


def test_step_functions():
    x = f64([0.5, 1.5, 2.5, -0.5, -2.5, 2.675], requires_grad=True)
    assert x.round().tolist() == [0.0, 2.0, 2.0, -0.0, -2.0, 3.0]  # half to even
    assert x.round(decimals=2).tolist()[-1] == 2.68
    assert lucid.round(f64([1234.5]), decimals=-2).tolist() == [1200.0]
    assert x.floor().requires_grad and x.floor().grad_fn == "floor"
    (g,) = grad((x.floor() * x).sum(), x)
    assert g.tolist() == x.floor().tolist()  # d(floor(x) x) = floor(x): floor contributes 0


def test_norm_gradient_at_zero_is_zero_and_std_of_a_constant_is_nan():
    z = f64([0.0, 0.0, 0.0], requires_grad=True)
    for p in [1, 2, 3, float("inf"), "fro"]:
        assert grad(z.norm(p), z)[0].tolist() == [0.0, 0.0, 0.0]
    c = f64([2.0, 2.0], requires_grad=True)
    assert np.isnan(grad(c.std(), c)[0].numpy()).all()  # PyTorch gives NaN too


def test_var_signatures():
    x = f64([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    np.testing.assert_allclose(x.var().item(), np.var(x.numpy(), ddof=1))
    np.testing.assert_allclose(x.var(False).item(), np.var(x.numpy()))  # PyTorch's var(unbiased)
    np.testing.assert_allclose(x.var(1, False).numpy(), np.var(x.numpy(), 1))
    np.testing.assert_allclose(x.std(0, correction=0, keepdim=True).numpy(), np.std(x.numpy(), 0, keepdims=True))
    np.testing.assert_allclose(lucid.var(x, (0, 1), unbiased=True).item(), np.var(x.numpy(), ddof=1))
    assert np.isnan(f64([1.0]).var().item())  # one sample, correction 1: 0/0


def test_softmax_logsumexp_are_stable():
    x = f64([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0]])
    s = x.softmax(1).numpy()
    assert np.isfinite(s).all()
    np.testing.assert_allclose(s.sum(1), [1.0, 1.0], rtol=1e-15)
    np.testing.assert_allclose(x.log_softmax(1).numpy(), np.log(s), rtol=1e-12)
    np.testing.assert_allclose(x.logsumexp(1).numpy(), [1001.0 + np.log(1 + np.exp(-1) + np.exp(-2)), -1000.0 + np.log(3)], rtol=1e-15)
    assert lucid.logsumexp(f64([-np.inf, -np.inf]), 0).item() == -np.inf


def test_softplus_gelu_values():
    x = f64([-800.0, -1.0, 0.0, 25.0, 800.0])
    # PyTorch's threshold: x itself where x > 20
    want = np.where(x.numpy() > 20, x.numpy(), np.logaddexp(0, x.numpy()))
    np.testing.assert_allclose(x.softplus().numpy(), want, rtol=1e-15)
    np.testing.assert_allclose(lucid.gelu(f64([-10.0])).item(), -10.0 * 7.619853024160526e-24, rtol=1e-13)
    np.testing.assert_allclose(lucid.gelu(f64([1.0])).item(), 0.8413447460685429, rtol=1e-15)


def test_integer_scans_and_reductions_keep_integers():
    i = lucid.tensor([[1, 2], [3, 4]])
    assert i.cumsum(0).tolist() == [[1, 2], [4, 6]] and i.cumsum(0).dtype == lucid.int64
    assert i.prod().item() == 24 and i.prod().dtype == lucid.int64
    assert i.amax().item() == 4 and i.max(1).values.tolist() == [2, 4]
    assert lucid.tensor([True, False, True]).cumsum(0).tolist() == [1, 1, 2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=1, max_size=6), st.floats(-50, 50))
def test_softmax_and_logsumexp_shift_properties(values, c):
    x = f64(values)
    np.testing.assert_allclose((x + c).softmax(0).numpy(), x.softmax(0).numpy(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose((x + c).logsumexp().item(), x.logsumexp().item() + c, rtol=1e-12, atol=1e-12)
    assert x.logsumexp().item() >= x.max().item() - 1e-12


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([0.0, -1.5, -0.5, 0.5, 1.0, 2.0]), min_size=1, max_size=6))
def test_prod_and_cumprod_gradients_are_products_of_the_others(values):
    x = f64(values, requires_grad=True)
    (g,) = grad(x.prod(), x)
    want = [np.prod(np.delete(np.asarray(values), k)) for k in range(len(values))]
    np.testing.assert_allclose(g.numpy(), want, rtol=1e-14, atol=0)
    # the last entry of cumprod is the product
    (g2,) = grad(x.cumprod(0)[-1], x)
    np.testing.assert_allclose(g2.numpy(), want, rtol=1e-14, atol=0)


def test_zero_dim_tensors_and_empty_dim_tuples():
    s = f64(3.0)
    assert s.argmax(-1).item() == 0 and s.argmax(0).shape == ()
    assert s.softmax(-1).item() == 1.0 and s.cumsum(0).item() == 3.0 and s.prod(0).item() == 3.0
    x = f64([[1.0, 2.0], [4.0, 8.0]])
    # an empty dim tuple reduces over everything, as PyTorch's reductions
    assert x.var(()).item() == x.var().item()
    assert x.amax(()).item() == 8.0 and x.prod(()).item() == 64.0
    assert x.norm(dim=()).item() == x.norm().item()
