"""Sparse-row cotangents and tangents (NOTE [sparse rows] in autograd/sparse.rs,
and sparse_rules.rs): Jacobians whose seed stays sparse through broadcasts, sums,
slices (negative steps, ints, new axes), permutes, expands, `where`, joins and the
adjoints of slices equal the Jacobian built from plain dense one-hot cotangents, in reverse and
forward mode and in every way of cutting the rows."""

import numpy as np
import pytest

import lucid
from lucid.autograd import grad, hessian, jacobian

rng = np.random.default_rng(11)
M = lucid.tensor(rng.normal(size=(6, 12)))


def dense_rows(f, xs):
    """The Jacobian of ``f`` from one dense one-hot cotangent per output element."""
    xs = [x.detach().requires_grad_() for x in xs]
    outs = f(*xs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    rows = [[] for _ in xs]
    for y in outs:
        for r in range(y.numel()):
            seed = np.zeros(y.numel())
            seed[r] = 1.0
            gs = grad(y, xs, grad_outputs=lucid.tensor(seed.reshape(tuple(y.shape))), retain_graph=True,
                      allow_unused=True)
            for j, g in enumerate(gs):
                rows[j].append(np.zeros(xs[j].numel()) if g is None else g.numpy().ravel())
    return [np.array(r) for r in rows]


def normalise_rows(x):
    r = x.reshape(4, 3)
    return r / (r * r).sum(1, keepdim=True).sqrt()


def outer_sum(a, b):
    return a * b, (a[:, None] * b[None, :]).sum(0)


def rosenbrock_grad(x):
    (g,) = grad((100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum(), (x,), create_graph=True)
    return g


def views(x):
    t = x.reshape(3, 4)
    p = t.permute(1, 0)[::-2, 1:]          # permute, negative step, offset
    e = t[1][None, :].expand(3, 4)          # int index, new axis, expand
    m = lucid.where(t > 0, t, t.exp())      # where with a mask
    return (p.sin() * 2.0).sum(0), e * t + m, t.mean(1) * t[:, 0]


def reductions(x):
    t = x.reshape(2, 3, 2)
    return t.sum((0, 2), keepdim=True) * t, t.sum() - t[:, ::2, 1]


def into_matmul(x):
    t = x.reshape(4, 3)
    s = (t / t.sum(1, keepdim=True)).reshape(12)
    return M @ s.tanh(), s @ M.T


def shared_reads(x):
    """h and x each read by several ops whose cotangents together are over half dense:
    their parts are kept apart (a Rows::Sum), added into one buffer for sin's rule (h)
    and written one after another into the result (x, with a dense part from M @ x)."""
    h = x.sin()
    return h * x, (h[:, None] * h[None, :]).sum(0), (h[:, None] * x[None, :]).sum(1), M @ x


def loop_of_slices(x):
    """x read 2 (n - 1) times: many small contributions pile up in x's cotangent."""
    return lucid.stack([x[i] * x[i + 1] + x[i] for i in range(x.numel() - 1)])


def stencil(u):
    """W7: u[i-1] - 2 u[i] + u[i+1] + u[i]^3 with zero boundary, written with slices and cat."""
    z = lucid.zeros(1, dtype=u.dtype)
    left, right = lucid.cat([z, u[:-1]]), lucid.cat([u[1:], z])
    return left - 2.0 * u + right + u ** 3


def joins(a, b):
    """cat along dim 1 of three pieces of different widths, of two inputs, and of a piece
    no input reaches."""
    ta, tb = a.reshape(3, 4), b.reshape(3, 2)
    c = lucid.cat([ta[:, 1:].sin(), tb * 2.0, lucid.ones(3, 1, dtype=a.dtype), ta[:, :1]], 1)
    return c * c.sum(1, keepdim=True), lucid.cat([a, b]).exp()


W1 = lucid.tensor(rng.normal(size=(3, 5)))
W2 = lucid.tensor(rng.normal(size=(5, 2)))
V = lucid.tensor(rng.normal(size=5))


def batch_mlp(x):
    """A network applied to a batch: row b of the output depends on row b of X only."""
    return (x.reshape(4, 3) @ W1).tanh() @ W2


def weights(w, x):
    """Sensitivities with respect to weights and inputs: W @ x, x @ W, W @ W.T, a dot."""
    wm = w.reshape(3, 4)
    return (wm @ x).sin(), x @ wm.T, (wm @ wm.T).sum(0), x @ x


CASES = {
    "batch_mlp": (batch_mlp, (12,)),
    "weights": (weights, (12, 4)),
    "loop_of_slices": (loop_of_slices, (20,)),
    "shared_reads": (shared_reads, (12,)),
    "normalise_rows": (normalise_rows, (12,)),
    "outer_sum": (outer_sum, (5, 5)),
    "rosenbrock_grad": (rosenbrock_grad, (9,)),
    "views": (views, (12,)),
    "reductions": (reductions, (12,)),
    "into_matmul": (into_matmul, (12,)),
    "stencil": (stencil, (15,)),
    "joins": (joins, (12, 6)),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("kwargs", [
    {}, {"vectorize": True}, {"vectorize": True, "chunk_size": 1}, {"vectorize": True, "chunk_size": 5},
    {"strategy": "forward-mode"}, {"strategy": "forward-mode", "vectorize": True},
    {"strategy": "forward-mode", "vectorize": True, "chunk_size": 5},
])
def test_sparse_seeds_equal_dense_one_hot_rows(name, kwargs):
    f, sizes = CASES[name]
    xs = tuple(lucid.tensor(rng.uniform(0.5, 1.5, size=n)) for n in sizes)
    want = dense_rows(f, xs)
    got = jacobian(f, xs, **kwargs)
    got = got if isinstance(got, tuple) else (got,)  # one block per input, output rows stacked
    for block, x, w in zip(got, xs, want):
        np.testing.assert_allclose(block.numpy().reshape(-1, x.numel()), w, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_rosenbrock_hessian_is_the_closed_form(strategy):
    x = rng.uniform(-1.5, 1.5, size=30)
    H = hessian(lambda x: (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum(), lucid.tensor(x),
                strategy=strategy)
    want = np.zeros((30, 30))
    for i in range(29):
        want[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        want[i + 1, i + 1] += 200
        want[i, i + 1] = want[i + 1, i] = -400 * x[i]
    np.testing.assert_allclose(H.numpy(), want, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("f", [normalise_rows, shared_reads])
def test_float32_sparse_rows_keep_the_dtype(f):
    x = lucid.tensor(rng.normal(size=12).astype(np.float32))
    J = jacobian(f, x)
    assert J.dtype == lucid.float32
    want = dense_rows(f, (x,))[0]
    np.testing.assert_allclose(J.numpy().reshape(-1, 12), want, rtol=1e-5, atol=1e-5)


# Every elementwise rule on sparse rows: the sweep gathers only the operands a rule
# reads (the Reads of its declared structure), so each op runs behind a broadcast (which makes the rows
# sparse) and is compared with dense one-hot rows. Inputs lie in (0.2, 0.8): inside
# every op's domain (acosh gets 1 + x).
UNARY = ["neg", "exp", "expm1", "log", "log1p", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "abs", "relu",
         "square", "reciprocal", "rsqrt", "log2", "log10", "asin", "acos", "atan", "sinh", "cosh", "asinh",
         "atanh", "erf", "softplus", "gelu", "floor", "sign"]
BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "clamp_min", "clamp_max", "floor_divide",
          "remainder"]


def _behind_broadcast(x):
    t = x.reshape(3, 4)
    return t * t.sum(1, keepdim=True)       # row sums broadcast: rows of the seed go sparse


@pytest.mark.parametrize("name", UNARY + ["acosh"])
@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_every_unary_rule_on_sparse_rows(name, strategy):
    def f(x):
        u = _behind_broadcast(x) * 0.2
        return getattr(u + 1.0 if name == "acosh" else u, name)().sum(0)
    x = lucid.tensor(rng.uniform(0.2, 0.8, size=12))
    np.testing.assert_allclose(jacobian(f, x, strategy=strategy).numpy(), dense_rows(f, (x,))[0],
                               rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_every_binary_rule_on_sparse_rows(name, strategy):
    def f(x, y):
        a = _behind_broadcast(x) * 0.2
        return getattr(a, name)(y[None, :] * 0.5).sum(1), getattr(y.reshape(4, 1), name)(a.T).sum(0)
    xs = (lucid.tensor(rng.uniform(0.2, 0.8, size=12)), lucid.tensor(rng.uniform(0.2, 0.8, size=4)))
    got = jacobian(f, xs, strategy=strategy)
    for block, w in zip(got, dense_rows(f, xs)):
        np.testing.assert_allclose(block.numpy(), w, rtol=1e-12, atol=1e-13)
