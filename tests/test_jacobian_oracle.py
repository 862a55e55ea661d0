"""Values of jacobian / hessian / vjp / jvp / hvp / vhp against independent oracles on
realistic functions: HIPS ``autograd`` always (a test dependency), and PyTorch and JAX
when they are installed.

Each function is written once against a small op namespace ``O`` and runs unchanged on
lucid tensors and on each oracle's arrays. For a function with several inputs and
outputs the oracle's Jacobian block j is the Jacobian of the concatenated, flattened
outputs with respect to input j (lucid stacks tuple outputs' rows in the same order).
Second-order checks use the scalarisation ``g(x) = Σ_k ⟨w_k, f_k(x)⟩`` with fixed
random weights ``w``. float64 must agree to 1e-10 relative; float32 inputs to 1e-5.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pytest

import lucid
from lucid.autograd import hessian, hvp, jacobian, jvp, vhp, vjp

# ---- op namespaces ----------------------------------------------------------------------------------


class LucidOps:
    exp = staticmethod(lucid.exp)
    log = staticmethod(lucid.log)
    sin = staticmethod(lucid.sin)
    cos = staticmethod(lucid.cos)
    tanh = staticmethod(lucid.tanh)
    sqrt = staticmethod(lucid.sqrt)
    log1p = staticmethod(lucid.log1p)
    expm1 = staticmethod(lucid.expm1)
    sigmoid = staticmethod(lucid.sigmoid)
    where = staticmethod(lucid.where)

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return x.sum(axis, keepdim=keepdims)

    @staticmethod
    def mean(x, axis=None, keepdims=False):
        return x.mean(axis, keepdim=keepdims)

    @staticmethod
    def stack(xs, axis=0):
        return lucid.stack(list(xs), axis)

    @staticmethod
    def cat(xs, axis=0):
        return lucid.cat(list(xs), axis)

    @staticmethod
    def reshape(x, shape):
        return x.reshape(*shape)

    @staticmethod
    def transpose(x, perm):
        return x.permute(*perm)

    @staticmethod
    def mT(x):
        return x.mT

    @staticmethod
    def rev0(x):
        return x[::-1]  # a negative-step slice (PyTorch has none: its namespace flips)


def numpy_like_ops(np_mod):
    """The namespace for NumPy-compatible array modules (autograd.numpy, jax.numpy)."""

    class Ops:
        exp, log, sin, cos, tanh, sqrt = np_mod.exp, np_mod.log, np_mod.sin, np_mod.cos, np_mod.tanh, np_mod.sqrt
        log1p, expm1, where = np_mod.log1p, np_mod.expm1, np_mod.where

        @staticmethod
        def sigmoid(x):
            return 1.0 / (1.0 + np_mod.exp(-x))

        @staticmethod
        def sum(x, axis=None, keepdims=False):
            return np_mod.sum(x, axis=axis, keepdims=keepdims)

        @staticmethod
        def mean(x, axis=None, keepdims=False):
            return np_mod.mean(x, axis=axis, keepdims=keepdims)

        @staticmethod
        def stack(xs, axis=0):
            return np_mod.stack(list(xs), axis=axis)

        @staticmethod
        def cat(xs, axis=0):
            return np_mod.concatenate(list(xs), axis=axis)

        @staticmethod
        def reshape(x, shape):
            return np_mod.reshape(x, shape)

        @staticmethod
        def transpose(x, perm):
            return np_mod.transpose(x, perm)

        @staticmethod
        def mT(x):
            return np_mod.swapaxes(x, -1, -2)

        @staticmethod
        def rev0(x):
            return x[::-1]

    return Ops


def torch_ops(torch):
    class Ops:
        exp, log, sin, cos, tanh, sqrt = torch.exp, torch.log, torch.sin, torch.cos, torch.tanh, torch.sqrt
        log1p, expm1, sigmoid, where = torch.log1p, torch.expm1, torch.sigmoid, torch.where

        @staticmethod
        def sum(x, axis=None, keepdims=False):
            return torch.sum(x) if axis is None else torch.sum(x, dim=axis, keepdim=keepdims)

        @staticmethod
        def mean(x, axis=None, keepdims=False):
            return torch.mean(x) if axis is None else torch.mean(x, dim=axis, keepdim=keepdims)

        @staticmethod
        def stack(xs, axis=0):
            return torch.stack(list(xs), dim=axis)

        @staticmethod
        def cat(xs, axis=0):
            return torch.cat(list(xs), dim=axis)

        @staticmethod
        def reshape(x, shape):
            return torch.reshape(x, shape)

        @staticmethod
        def transpose(x, perm):
            return x.permute(*perm)

        @staticmethod
        def mT(x):
            return torch.transpose(x, -1, -2)

        @staticmethod
        def rev0(x):
            return torch.flip(x, (0,))

    return Ops


# ---- the functions --------------------------------------------------------------------------------------


def u(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, size=shape)


def away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.3, 2.0, size=shape)


@dataclass
class Case:
    name: str
    fn: Callable  # fn(O, *inputs) -> array or tuple of arrays
    shapes: Sequence[tuple]
    sample: Sequence[Callable] | Callable = u(-1.0, 1.0)

    def inputs(self, seed=0):
        rng = np.random.default_rng(seed)
        samplers = self.sample if isinstance(self.sample, (list, tuple)) else [self.sample] * len(self.shapes)
        return [np.asarray(s(rng, shape), dtype=np.float64) for s, shape in zip(samplers, self.shapes)]


def mlp_tanh(O, W1, b1, W2, b2, x):
    return W2 @ O.tanh(W1 @ x + b1) + b2


def mlp_batched(O, W1, X):
    H = O.tanh(X @ O.mT(W1))
    return O.mean(H * H, axis=0)


def softmax(O, z):
    e = O.exp(z)
    return e / O.sum(e)


def softmax_rows(O, Z):
    e = O.exp(Z)
    return e / O.sum(e, axis=-1, keepdims=True)


def broadcasting(O, a, b):
    return a * b + a ** 2 / (1 + b ** 2) - O.sin(a - b)


def matmul_chain(O, A, B, C):
    return (A @ O.mT(B)) @ C + 0.5 * (A @ (O.mT(B) @ C))


def matmul_batched(O, D, E, v):
    return O.sum(O.tanh(D @ E), axis=0) @ v


def indexing(O, x):
    return x[1:, ::2] * x[:-1, 1::2] + x[2, 1] * O.rev0(x[1:, -1:]) - x[None, 3, :2]


def stack_cat(O, x, y):
    pair = O.stack([x[0] * y[1], x[-1] / (1 + y[0] ** 2)], 0)
    return O.cat([O.sin(x), O.rev0(O.cos(y)), pair], 0)


def piecewise(O, x):
    return O.where(x > 0, x ** 2 * O.exp(-x), -x ** 3 + O.sin(x))


def two_in_two_out(O, a, b):
    return a * b, O.sum(O.reshape(a, (-1, 1)) * O.reshape(b, (1, -1)), axis=0)


def rosenbrock(O, x):
    return O.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def arm_kinematics(O, theta, L):
    p1 = theta[0]
    p2 = p1 + theta[1]
    p3 = p2 + theta[2]
    x = L[0] * O.cos(p1) + L[1] * O.cos(p2) + L[2] * O.cos(p3)
    y = L[0] * O.sin(p1) + L[1] * O.sin(p2) + L[2] * O.sin(p3)
    return O.stack([x, y, p3])


def spring_energy(O, P, V, m):
    kinetic = 0.5 * O.sum(m * O.sum(V * V, axis=1))
    d = P[1:] - P[:-1]
    r = O.sqrt(O.sum(d * d, axis=1))
    elastic = 0.5 * 30.0 * O.sum((r - 1.0) ** 2)
    gravity = 9.81 * O.sum(m * P[:, 1])
    return kinetic + elastic + gravity


def normalise_rows(O, x):
    R = O.reshape(x, (-1, 3))
    return R / O.sqrt(O.sum(R * R, axis=1, keepdims=True))


def gaussian_nll(O, x, mu, log_sigma):
    return O.sum((x - mu) ** 2 / (2.0 * O.exp(2.0 * log_sigma)) + log_sigma)


def logistic_loss(O, w, X, y):
    return O.sum(O.log(1.0 + O.exp(-y * (X @ w))))


def attention(O, Q, K, V):
    e = O.exp(Q @ O.mT(K) / 2.0)
    return (e / O.sum(e, axis=-1, keepdims=True)) @ V


def layer_norm(O, x, g, b):
    d = x - O.mean(x, axis=-1, keepdims=True)
    var = O.mean(d * d, axis=-1, keepdims=True)
    return g * d / O.sqrt(var + 1e-3) + b


def nbody_potential(O, R, m):
    D = O.reshape(R, (4, 1, 3)) - O.reshape(R, (1, 4, 3))
    d2 = O.sum(D * D, axis=-1) + 0.1
    return -O.sum(O.reshape(m, (4, 1)) * O.reshape(m, (1, 4)) / O.sqrt(d2))


def permute_sum(O, x, y):
    return O.exp(0.3 * O.sum(O.transpose(x, (2, 0, 1)) * y, axis=1))


def sigmoid_gate(O, W, x):
    return O.sigmoid(W @ x) * O.tanh(x[:3])


def rational(O, c, x):
    p = ((c[3] * x + c[2]) * x + c[1]) * x + c[0]
    return p / (1.0 + x * x)


def smooth_misc(O, x):
    return O.log1p(x * x) + O.expm1(-x) * O.cos(x) ** 2 + O.mean(x) * x


CASES = [
    Case("mlp_tanh", mlp_tanh, [(6, 4), (6,), (3, 6), (3,), (4,)]),
    Case("mlp_batched", mlp_batched, [(6, 4), (5, 4)]),
    Case("softmax", softmax, [(6,)], u(-2.0, 2.0)),
    Case("softmax_rows", softmax_rows, [(3, 4)], u(-2.0, 2.0)),
    Case("broadcasting", broadcasting, [(3, 1), (4,)]),
    Case("matmul_chain", matmul_chain, [(3, 4), (5, 4), (5, 2)]),
    Case("matmul_batched", matmul_batched, [(2, 3, 4), (4, 2), (2,)]),
    Case("indexing", indexing, [(5, 4)]),
    Case("stack_cat", stack_cat, [(3,), (3,)]),
    Case("piecewise", piecewise, [(7,)], away_from_zero),
    Case("two_in_two_out", two_in_two_out, [(3,), (3,)]),
    Case("rosenbrock", rosenbrock, [(6,)], u(-1.5, 1.5)),
    Case("arm_kinematics", arm_kinematics, [(3,), (3,)], [u(-3.0, 3.0), u(0.5, 1.5)]),
    Case("spring_energy", spring_energy, [(4, 2), (4, 2), (4,)], [u(-2.0, 2.0), u(-1.0, 1.0), u(0.5, 2.0)]),
    Case("normalise_rows", normalise_rows, [(12,)], away_from_zero),
    Case("gaussian_nll", gaussian_nll, [(5,), (5,), (5,)], [u(-2.0, 2.0), u(-1.0, 1.0), u(-0.5, 0.5)]),
    Case("logistic_loss", logistic_loss, [(3,), (6, 3), (6,)], [u(-1.0, 1.0), u(-2.0, 2.0), away_from_zero]),
    Case("attention", attention, [(3, 4), (5, 4), (5, 2)]),
    Case("layer_norm", layer_norm, [(3, 5), (5,), (5,)], [u(-2.0, 2.0), u(0.5, 1.5), u(-1.0, 1.0)]),
    Case("nbody_potential", nbody_potential, [(4, 3), (4,)], [u(-2.0, 2.0), u(0.5, 2.0)]),
    Case("permute_sum", permute_sum, [(2, 3, 4), (4, 2, 1)]),
    Case("sigmoid_gate", sigmoid_gate, [(3, 4), (4,)], u(-2.0, 2.0)),
    Case("rational", rational, [(4,), (5,)], u(-1.5, 1.5)),
    Case("smooth_misc", smooth_misc, [(5,)], u(-1.5, 1.5)),
]
IDS = [c.name for c in CASES]


# ---- references ------------------------------------------------------------------------------------------


def as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


@dataclass
class Reference:
    """Jacobian blocks (m × n_j) of the flattened outputs, output shapes, and the
    Hessian blocks of the scalarisation with weights ``w``."""

    out_shapes: list
    J: list
    H: list  # H[i][j]: (n_i × n_j)
    w: list


def weights(out_shapes, seed=11):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.5, 1.5, size=s) for s in out_shapes]


def hips_reference(case: Case, arrays) -> Reference:
    import autograd
    import autograd.numpy as anp

    O = numpy_like_ops(anp)
    outs = as_tuple(case.fn(O, *arrays))
    out_shapes = [np.shape(o) for o in outs]
    w = weights(out_shapes)

    def flat(*xs):
        return anp.concatenate([anp.reshape(o, (-1,)) for o in as_tuple(case.fn(O, *xs))])

    def scalar(*xs):
        return sum(anp.sum(wk * o) for wk, o in zip(w, as_tuple(case.fn(O, *xs))))

    m = sum(int(np.prod(s)) for s in out_shapes)
    with warnings.catch_warnings():
        # autograd warns when a block is structurally zero (a function linear in an input)
        warnings.filterwarnings("ignore", message="Output seems independent of input")
        J = [np.reshape(autograd.jacobian(flat, j)(*arrays), (m, arrays[j].size)) for j in range(len(arrays))]
        H = [
            [np.reshape(autograd.jacobian(autograd.grad(scalar, i), j)(*arrays), (arrays[i].size, arrays[j].size)) for j in range(len(arrays))]
            for i in range(len(arrays))
        ]
    return Reference(out_shapes, J, H, w)


def torch_reference(case: Case, arrays) -> Reference:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed; it is an optional second oracle")
    from torch.autograd.functional import hessian as t_hessian, jacobian as t_jacobian

    O = torch_ops(torch)
    xs = tuple(torch.tensor(a, dtype=torch.float64) for a in arrays)
    out_shapes = [tuple(o.shape) for o in as_tuple(case.fn(O, *xs))]
    w = [torch.tensor(wk, dtype=torch.float64) for wk in weights(out_shapes)]

    def flat(*ys):
        return torch.cat([o.reshape(-1) for o in as_tuple(case.fn(O, *ys))])

    def scalar(*ys):
        return sum((wk * o).sum() for wk, o in zip(w, as_tuple(case.fn(O, *ys))))

    m = sum(int(np.prod(s)) for s in out_shapes)
    J = [np.reshape(b.numpy(), (m, a.size)) for b, a in zip(t_jacobian(flat, xs), arrays)]
    Hs = t_hessian(scalar, xs)
    H = [[np.reshape(Hs[i][j].numpy(), (arrays[i].size, arrays[j].size)) for j in range(len(arrays))] for i in range(len(arrays))]
    return Reference(out_shapes, J, H, [wk.numpy() for wk in w])


def jax_reference(case: Case, arrays) -> Reference:
    jax = pytest.importorskip("jax", reason="JAX is not installed; it is an optional third oracle")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    O = numpy_like_ops(jnp)
    xs = tuple(jnp.asarray(a, dtype=jnp.float64) for a in arrays)
    out_shapes = [tuple(o.shape) for o in as_tuple(case.fn(O, *xs))]
    w = weights(out_shapes)

    def flat(*ys):
        return jnp.concatenate([jnp.reshape(o, (-1,)) for o in as_tuple(case.fn(O, *ys))])

    def scalar(*ys):
        return sum(jnp.sum(wk * o) for wk, o in zip(w, as_tuple(case.fn(O, *ys))))

    m = sum(int(np.prod(s)) for s in out_shapes)
    argnums = tuple(range(len(arrays)))
    J = [np.reshape(np.asarray(b), (m, a.size)) for b, a in zip(jax.jacrev(flat, argnums)(*xs), arrays)]
    Hs = jax.hessian(scalar, argnums)(*xs)
    H = [[np.reshape(np.asarray(Hs[i][j]), (arrays[i].size, arrays[j].size)) for j in range(len(arrays))] for i in range(len(arrays))]
    return Reference(out_shapes, J, H, w)


# ---- comparisons -----------------------------------------------------------------------------------------


def close(got, want, rtol, what):
    """Elementwise ``rtol`` plus ``rtol`` times the largest reference magnitude (so that
    entries that are exactly zero in the reference may carry round-off)."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs {want.shape}"
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(scale, 1e-300), err_msg=what)


def lucid_fn(case):
    return lambda *xs: case.fn(LucidOps, *xs)


def lucid_scalar(case, w, dtype):
    ws = [lucid.tensor(np.asarray(wk), dtype=dtype) for wk in w]

    def g(*xs):
        outs = as_tuple(case.fn(LucidOps, *xs))
        total = (outs[0] * ws[0]).sum()
        for o, wk in zip(outs[1:], ws[1:]):
            total = total + (o * wk).sum()
        return total

    return g


def check_against(ref: Reference, case: Case, arrays, dtype, rtol):
    xs = tuple(lucid.tensor(a, dtype=dtype) for a in arrays)
    f = lucid_fn(case)
    rng = np.random.default_rng(99)
    n_in = len(xs)

    # jacobian: looped, vectorized, chunked; by rows (reverse) and by columns (forward)
    modes = [{}, {"vectorize": True}, {"vectorize": True, "chunk_size": 3}]
    modes += [{"strategy": "forward-mode", **m} for m in modes] + [{"strategy": "auto"}]
    for mode in modes:
        blocks = jacobian(f, xs, **mode)
        assert len(blocks) == n_in
        for j, (b, want) in enumerate(zip(blocks, ref.J)):
            assert b.dtype == dtype
            close(b.numpy(), want, rtol, f"{case.name}: jacobian {mode} block {j}")

    # vjp: vᵀJ with random cotangents for every output
    vs = [rng.uniform(-1, 1, size=s) for s in ref.out_shapes]
    v_flat = np.concatenate([v.ravel() for v in vs])
    v_arg = tuple(lucid.tensor(v, dtype=dtype) for v in vs)
    outs, grads = vjp(f, xs, v_arg if len(vs) > 1 else v_arg[0])
    assert len(grads) == n_in
    for j, (g, want) in enumerate(zip(grads, ref.J)):
        close(g.numpy().ravel(), v_flat @ want, rtol, f"{case.name}: vjp input {j}")
        assert g.shape == xs[j].shape

    # jvp: J v with random tangents for every input
    ts = [rng.uniform(-1, 1, size=a.shape) for a in arrays]
    jv = sum(J @ t.ravel() for J, t in zip(ref.J, ts))
    t_arg = tuple(lucid.tensor(t, dtype=dtype) for t in ts)
    _, tangents = jvp(f, xs, t_arg)
    tangents = as_tuple(tangents)
    assert len(tangents) == len(ref.out_shapes)
    offset = 0
    for k, (t, shape) in enumerate(zip(tangents, ref.out_shapes)):
        size = int(np.prod(shape))
        assert tuple(t.shape) == tuple(shape)
        close(t.numpy().ravel(), jv[offset:offset + size], rtol, f"{case.name}: jvp output {k}")
        offset += size

    # hessian, hvp, vhp of the scalarisation
    g = lucid_scalar(case, ref.w, dtype)
    for mode in ({}, {"vectorize": True}):
        H = hessian(g, xs, **mode)
        for i in range(n_in):
            for j in range(n_in):
                close(H[i][j].numpy(), ref.H[i][j], rtol, f"{case.name}: hessian {mode} block {i},{j}")
    hv_ref = [sum(ref.H[i][j] @ t.ravel() for j, t in enumerate(ts)) for i in range(n_in)]
    vh_ref = [sum(t.ravel() @ ref.H[j][i] for j, t in enumerate(ts)) for i in range(n_in)]
    for fn, want in ((hvp, hv_ref), (vhp, vh_ref)):
        _, prods = fn(g, xs, t_arg)
        for i, (p, w) in enumerate(zip(prods, want)):
            close(p.numpy().ravel(), w, rtol, f"{case.name}: {fn.__name__} input {i}")


# ---- tests ----------------------------------------------------------------------------------------------------


def test_there_are_at_least_fifteen_functions():
    assert len(CASES) >= 15
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float64_against_hips_autograd(case):
    arrays = case.inputs(seed=0)
    check_against(hips_reference(case, arrays), case, arrays, lucid.float64, rtol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_against_hips_autograd(case):
    # the oracle runs in float64 at the float32-rounded point
    arrays = [a.astype(np.float32).astype(np.float64) for a in case.inputs(seed=1)]
    check_against(hips_reference(case, arrays), case, arrays, lucid.float32, rtol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float64_forward_values_match_numpy(case):
    import autograd.numpy as anp

    arrays = case.inputs(seed=2)
    with lucid.no_grad():
        got = as_tuple(lucid_fn(case)(*[lucid.tensor(a) for a in arrays]))
    want = as_tuple(case.fn(numpy_like_ops(anp), *arrays))
    for g, w in zip(got, want):
        close(g.numpy(), w, 1e-13, f"{case.name}: forward")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float64_against_pytorch(case):
    arrays = case.inputs(seed=3)
    check_against(torch_reference(case, arrays), case, arrays, lucid.float64, rtol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float64_against_jax(case):
    arrays = case.inputs(seed=4)
    check_against(jax_reference(case, arrays), case, arrays, lucid.float64, rtol=1e-10)


def test_reference_self_check_on_a_hand_derived_case():
    """The oracle plumbing itself: f(a, b) = (a·b, Σ a_i b_j) with known blocks."""
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    ref = hips_reference(Case("w4", two_in_two_out, [(2,), (2,)]), [a, b])
    np.testing.assert_array_equal(ref.J[0], [[3, 0], [0, 4], [3, 3], [4, 4]])
    np.testing.assert_array_equal(ref.J[1], [[1, 0], [0, 2], [3, 0], [0, 3]])
    # g = Σ w1 a b + Σ_j w2_j (Σa) b_j: ∂²g/∂a_i∂b_k = w1_k δ_ik + w2_k
    w1, w2 = ref.w
    np.testing.assert_allclose(ref.H[0][1], np.diag(w1) + np.tile(w2, (2, 1)), rtol=1e-15)
    np.testing.assert_array_equal(ref.H[0][0], np.zeros((2, 2)))
