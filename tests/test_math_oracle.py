"""Jacobians of compositions of math-family ops against an independent oracle, HIPS
``autograd`` (which also splits max ties evenly), in float64."""

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import jacobian as ag_jacobian

import lucid
from lucid.autograd import jacobian


def _softmax(a, axis):
    e = anp.exp(a - anp.max(a, axis=axis, keepdims=True))
    return e / anp.sum(e, axis=axis, keepdims=True)


def _cumprod0(a):
    # autograd has no cumprod rule: the running products spelled out
    rows = [a[0]]
    for k in range(1, a.shape[0]):
        rows.append(rows[-1] * a[k])
    return anp.stack(rows)


PAIRS = [
    ("inverse_trig",
     lambda x: (x.asin() * x.acos() + x.atan().sinh()) / x.cosh() + x.tanh().atanh(),
     lambda a: (anp.arcsin(a) * anp.arccos(a) + anp.sinh(anp.arctan(a))) / anp.cosh(a) + anp.arctanh(anp.tanh(a)),
     (-0.9, 0.9)),
    ("hyperbolic_logs",
     lambda x: (x * x + 1.5).acosh() + x.asinh().log2().abs() * x.reciprocal() + (x * x + 0.1).rsqrt().log10(),
     lambda a: anp.arccosh(a * a + 1.5) + anp.abs(anp.log2(anp.abs(anp.arcsinh(a)))) * (1 / a) + anp.log10(1 / anp.sqrt(a * a + 0.1)),
     (0.3, 2.0)),
    ("reductions",
     lambda x: lucid.stack([x.prod(1), x.amax(1), x.var(1), x.std(1, correction=0), x.norm(dim=1), x.logsumexp(1)]),
     lambda a: anp.stack([anp.prod(a, 1), anp.max(a, 1), anp.var(a, 1, ddof=1), anp.std(a, 1),
                          anp.sqrt(anp.sum(a ** 2, 1)), anp.log(anp.sum(anp.exp(a), 1))]),
     (-2.0, 2.0)),
    ("softmax_scans",
     lambda x: x.softmax(0) * x.cumsum(1) + x.log_softmax(1) * x.cumprod(0),
     lambda a: _softmax(a, 0) * anp.cumsum(a, 1) + anp.log(_softmax(a, 1)) * _cumprod0(a),
     (-2.0, 2.0)),
]


@pytest.mark.parametrize("name,fn,ref,domain", PAIRS, ids=[p[0] for p in PAIRS])
def test_jacobian_matches_hips_autograd(name, fn, ref, domain):
    rng = np.random.default_rng(7)
    a = rng.uniform(*domain, size=(3, 4))
    j = jacobian(fn, lucid.tensor(a)).numpy()
    want = ag_jacobian(ref)(a).reshape(j.shape)
    np.testing.assert_allclose(j, want, rtol=1e-10, atol=1e-12)


def test_max_ties_match_hips_autograd():
    a = np.array([[1.0, 3.0, 3.0, 3.0], [2.0, 2.0, 0.0, -1.0]])
    j = jacobian(lambda x: x.amax(1), lucid.tensor(a)).numpy()
    want = ag_jacobian(lambda v: anp.max(v, 1))(a).reshape(j.shape)
    np.testing.assert_allclose(j, want, rtol=1e-15)
