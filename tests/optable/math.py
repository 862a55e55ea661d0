"""Conformance entries for elementwise math (inverse trig and hyperbolic functions,
reciprocal/rsqrt, log2/log10, erf, softplus, gelu, floor/ceil/round) and clamp."""

import math

import numpy as np

import lucid

from . import OpCase

S = [((3,),), ((2, 3),), ((),)]  # vector, matrix, 0-d

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _signed(lo, hi):
    """Samples with |x| in [lo, hi] and either sign."""
    return lambda r, s, i: r.choice([-1, 1], size=s) * r.uniform(lo, hi, size=s)


def _off_grid(lo, hi):
    """Samples whose fractional part lies in [lo, hi]: away from the jumps of
    floor/ceil (integers) or of round (half-integers)."""
    return lambda r, s, i: r.integers(-3, 3, size=s) + r.uniform(lo, hi, size=s)


def _softplus(x, beta=1.0, threshold=20.0):
    bx = beta * x
    return np.where(bx > threshold, x, (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def _clamp_sample(r, s, i):
    # x in (-2, 2); min in (-1.5, -0.2); max in (0.2, 1.5): never equal to each other
    return r.uniform(*[(-2, 2), (-1.5, -0.2), (0.2, 1.5)][i], size=s)


CASES = [
    OpCase("reciprocal", lambda x: x.reciprocal(), np.reciprocal, S, make=_signed(0.5, 2)),
    OpCase("rsqrt", lambda x: x.rsqrt(), lambda x: 1 / np.sqrt(x), S, domain=(0.3, 3.0)),
    OpCase("log2", lambda x: x.log2(), np.log2, S, domain=(0.3, 3.0)),
    OpCase("log10", lambda x: lucid.log10(x), np.log10, S, domain=(0.3, 3.0)),
    OpCase("asin", lambda x: x.asin(), np.arcsin, S, domain=(-0.9, 0.9)),
    OpCase("acos", lambda x: x.acos(), np.arccos, S, domain=(-0.9, 0.9)),
    OpCase("atan", lambda x: x.atan(), np.arctan, S),
    OpCase("arcsin_alias", lambda x: lucid.arcsin(x), np.arcsin, [((3,),)], domain=(-0.9, 0.9)),
    OpCase("sinh", lambda x: x.sinh(), np.sinh, S),
    OpCase("cosh", lambda x: x.cosh(), np.cosh, S),
    OpCase("asinh", lambda x: x.asinh(), np.arcsinh, S, domain=(-3.0, 3.0)),
    OpCase("acosh", lambda x: x.acosh(), np.arccosh, S, domain=(1.2, 3.0)),
    OpCase("atanh", lambda x: lucid.atanh(x), np.arctanh, S, domain=(-0.9, 0.9)),
    OpCase("erf", lambda x: x.erf(), _erf, S, domain=(-3.0, 3.0)),
    OpCase("softplus", lambda x: x.softplus(), _softplus, S, domain=(-4.0, 4.0)),
    # beta = 2, threshold = 1: the linear branch starts at x = 0.5; samples keep clear of it
    OpCase("softplus_beta_threshold", lambda x: lucid.softplus(x, beta=2.0, threshold=1.0),
           lambda x: _softplus(x, 2.0, 1.0), S,
           make=lambda r, s, i: np.where(r.random(s) < 0.5, r.uniform(-2, 0.35, s), r.uniform(0.65, 2, s))),
    OpCase("gelu", lambda x: x.gelu(), lambda x: x * 0.5 * (1 + _erf(x / np.sqrt(2))), S, domain=(-3.0, 3.0)),
    OpCase("gelu_tanh", lambda x: lucid.gelu(x, approximate="tanh"), _gelu_tanh, S, domain=(-3.0, 3.0)),
    OpCase("floor", lambda x: x.floor(), np.floor, S, make=_off_grid(0.1, 0.9)),
    OpCase("ceil", lambda x: lucid.ceil(x), np.ceil, S, make=_off_grid(0.1, 0.9)),
    OpCase("round", lambda x: x.round(), np.round, S, make=_off_grid(0.6, 1.4)),
    OpCase("round_decimals", lambda x: lucid.round(x, decimals=1), lambda x: np.round(x, 1), [((2, 3),)],
           make=lambda r, s, i: r.integers(-30, 30, size=s) / 10 + r.uniform(0.02, 0.03, size=s)),
    OpCase("clamp_numbers", lambda x: x.clamp(-0.5, 0.6), lambda x: np.clip(x, -0.5, 0.6), S),
    OpCase("clamp_min_only", lambda x: lucid.clamp(x, min=0.2), lambda x: np.maximum(x, 0.2), S),
    OpCase("clip_max_only", lambda x: x.clip(max=-0.1), lambda x: np.minimum(x, -0.1), S),
    OpCase("clamp_tensors", lambda x, lo, hi: x.clamp(lo, hi), lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
           [((2, 3), (3,), (2, 1)), ((3,), (), ()), ((2, 3), (2, 3), (2, 3))], make=_clamp_sample),
    OpCase("clamp_min_tensor", lambda x, lo: lucid.clamp_min(x, lo), np.maximum,
           [((2, 3), (3,)), ((4, 1), (1, 3))], make=_clamp_sample),
    OpCase("clamp_max_tensor", lambda x, _lo, hi: x.clamp_max(hi), lambda x, _lo, hi: np.minimum(x, hi),
           [((2, 3), (), (2, 3))], make=_clamp_sample, wrt=[0, 2]),
]
