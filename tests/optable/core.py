"""Conformance entries for the foundation op set (elementwise, reductions, shape,
matmul, indexing, joins). Family helpers add their own modules beside this one."""

import numpy as np

import lucid

from . import OpCase

S = [((3,),), ((2, 3),), ((),)]  # unary variants: vector, matrix, 0-d
B = [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1, 3)), ((), (2, 2))]  # binary broadcasting


def _divmod_sample(r, s, i):
    """a = k + u with u in [0.25, 0.75], b = ±(1 + s) with s in [0, 0.05]: both signs, and
    every a / b at least 0.07 from an integer, so no central difference straddles a jump
    of // or % and float32 rounds to the same quotient as the float64 reference."""
    if i == 0:
        return r.integers(-3, 4, size=s) + r.uniform(0.25, 0.75, size=s)
    return r.choice([-1.0, 1.0], size=s) * (1 + r.uniform(0, 0.05, size=s))

CASES = [
    OpCase("neg", lambda x: -x, lambda x: -x, S),
    OpCase("exp", lambda x: x.exp(), np.exp, S),
    OpCase("expm1", lambda x: x.expm1(), np.expm1, S),
    OpCase("log", lambda x: x.log(), np.log, S, domain=(0.3, 3.0)),
    OpCase("log1p", lambda x: x.log1p(), np.log1p, S, domain=(-0.5, 3.0)),
    OpCase("sqrt", lambda x: x.sqrt(), np.sqrt, S, domain=(0.3, 3.0)),
    OpCase("sin", lambda x: x.sin(), np.sin, S),
    OpCase("cos", lambda x: x.cos(), np.cos, S),
    OpCase("tan", lambda x: x.tan(), np.tan, S, domain=(-1.2, 1.2)),
    OpCase("tanh", lambda x: x.tanh(), np.tanh, S),
    OpCase("sigmoid", lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), S),
    OpCase("abs", lambda x: x.abs(), np.abs, S, make=lambda r, s, i: r.choice([-1, 1], size=s) * r.uniform(0.2, 2, size=s)),
    OpCase("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), S, make=lambda r, s, i: r.choice([-1, 1], size=s) * r.uniform(0.2, 2, size=s)),
    OpCase("pow_scalar", lambda x: x ** 3, lambda x: x ** 3, S),
    OpCase("pow_scalar_frac", lambda x: x ** 1.5, lambda x: x ** 1.5, S, domain=(0.3, 2.0)),
    OpCase("square", lambda x: x.square(), np.square, S),
    OpCase("clone", lambda x: x.clone(), np.copy, S),
    OpCase("add", lambda a, b: a + b, np.add, B),
    OpCase("sub", lambda a, b: a - b, np.subtract, B),
    OpCase("mul", lambda a, b: a * b, np.multiply, B),
    OpCase("div", lambda a, b: a / b, np.divide, B, domain=((-2, 2), (0.5, 2))),
    OpCase("pow", lambda a, b: a ** b, np.power, B, domain=((0.5, 2), (-1.5, 1.5))),
    OpCase("rsub_scalar", lambda a: 2.0 - a, lambda a: 2.0 - a, S),
    OpCase("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, S, domain=(0.5, 2)),
    OpCase("rpow_scalar", lambda a: 2.0 ** a, lambda a: 2.0 ** a, S),
    OpCase("maximum", lambda a, b: lucid.maximum(a, b), np.maximum, B),
    OpCase("minimum", lambda a, b: lucid.minimum(a, b), np.minimum, B),
    OpCase("atan2", lambda a, b: lucid.atan2(a, b), np.arctan2, B, domain=((0.5, 2), (0.5, 2))),
    OpCase("floor_divide", lambda a, b: a // b, np.floor_divide, B, make=_divmod_sample),
    OpCase("remainder", lambda a, b: a % b, np.remainder, B, make=_divmod_sample),
    OpCase("remainder_fn", lambda a, b: lucid.remainder(a, b), np.remainder, [((2, 3), (3,))], make=_divmod_sample),
    OpCase("remainder_number", lambda a: a % -1.0, lambda a: np.remainder(a, -1.0), S, make=_divmod_sample),
    OpCase("rremainder_number", lambda b: 7.5 % b, lambda b: np.remainder(7.5, b), S,
           make=lambda r, s, i: _divmod_sample(r, s, 1)),
    OpCase("where", lambda a, b: lucid.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), [((2, 3), (2, 3)), ((3,), (2, 3))],
           make=lambda r, s, i: r.choice([-1, 1], size=s) * r.uniform(0.2, 2, size=s)),
    OpCase("sum_all", lambda x: x.sum(), lambda x: np.sum(x), [((2, 3),), ((),)]),
    OpCase("sum_dim", lambda x: x.sum(1), lambda x: x.sum(1), [((2, 3),), ((2, 3, 4),)]),
    OpCase("sum_neg_keepdim", lambda x: x.sum(-1, keepdim=True), lambda x: x.sum(-1, keepdims=True), [((2, 3),)]),
    OpCase("sum_dims", lambda x: x.sum((0, 2)), lambda x: x.sum((0, 2)), [((2, 3, 4),)]),
    OpCase("mean", lambda x: x.mean(), np.mean, [((2, 3),)]),
    OpCase("mean_dim", lambda x: x.mean(0, keepdim=True), lambda x: x.mean(0, keepdims=True), [((2, 3),)]),
    OpCase("reshape", lambda x: x.reshape(3, -1), lambda x: x.reshape(3, -1), [((2, 3),), ((6,),)]),
    OpCase("flatten", lambda x: x.flatten(), lambda x: x.ravel(), [((2, 3, 2),)]),
    OpCase("unsqueeze", lambda x: x.unsqueeze(1), lambda x: np.expand_dims(x, 1), [((2, 3),)]),
    OpCase("squeeze", lambda x: x.squeeze(), np.squeeze, [((2, 1, 3),)]),
    OpCase("permute", lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), [((2, 3, 4),)]),
    OpCase("transpose", lambda x: x.transpose(0, 1), lambda x: x.T, [((2, 3),)]),
    OpCase("T", lambda x: x.T, lambda x: x.T, [((2, 3),), ((2, 3, 4),)]),
    OpCase("mT", lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), [((2, 3, 4),)]),
    OpCase("expand", lambda x: x.expand(4, 2, 3), lambda x: np.broadcast_to(x, (4, 2, 3)), [((2, 1),), ((3,),)]),
    OpCase("matmul_mm", lambda a, b: a @ b, np.matmul, [((2, 3), (3, 4))]),
    OpCase("matmul_mv", lambda a, b: a @ b, np.matmul, [((2, 3), (3,))]),
    OpCase("matmul_vm", lambda a, b: a @ b, np.matmul, [((3,), (3, 4))]),
    OpCase("matmul_dot", lambda a, b: a @ b, np.matmul, [((3,), (3,))]),
    OpCase("matmul_batched", lambda a, b: a @ b, np.matmul, [((2, 2, 3), (2, 3, 4)), ((2, 2, 3), (3, 4)), ((2, 3), (5, 3, 2)), ((5, 1, 2, 3), (4, 3, 2))]),
    OpCase("matmul_batch_vec", lambda a, b: a @ b, np.matmul, [((2, 2, 3), (3,)), ((3,), (2, 3, 4))]),
    OpCase("index_int", lambda x: x[1], lambda x: x[1], [((3, 2),)]),
    OpCase("index_slice_step", lambda x: x[::2, 1:], lambda x: x[::2, 1:], [((5, 3),)]),
    OpCase("index_negative_step", lambda x: x[::-2], lambda x: x[::-2], [((5, 2),)]),
    OpCase("index_none_ellipsis", lambda x: x[None, ..., -1], lambda x: x[None, ..., -1], [((2, 3, 4),)]),
    OpCase("narrow", lambda x: x.narrow(1, 1, 2), lambda x: x[:, 1:3], [((2, 4),)]),
    OpCase("select", lambda x: x.select(1, -1), lambda x: x[:, -1], [((2, 4),)]),
    OpCase("cat", lambda a, b: lucid.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1), [((2, 3), (2, 2))]),
    OpCase("stack", lambda a, b: lucid.stack([a, b], -1), lambda a, b: np.stack([a, b], -1), [((2, 3), (2, 3))]),
]
