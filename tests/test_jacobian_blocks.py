"""Row blocks and diagonal seeds: every way of cutting the rows of a Jacobian (blocks
spanning several outputs, chunks that split an output, parallel workers) gives the
Jacobian computed by plain one-row sweeps."""

import numpy as np
import pytest

import lucid
from lucid.autograd import grad, hessian, jacobian

rng = np.random.default_rng(7)
A = lucid.tensor(rng.normal(size=(70, 40)))
B = lucid.tensor(rng.normal(size=(40,)))


def two_outputs(x, w):
    h = (A @ x).tanh() * w.sum()
    return h[:50] * x[:50].sin().sum(), (x * w).exp() + B * x, (h ** 2).sum()


def reference(f, xs):
    xs = [x.detach().requires_grad_() for x in xs]
    outs = f(*xs)
    rows = [[] for _ in xs]
    for y in outs:
        flat_m = y.numel()
        for r in range(flat_m):
            seed = np.zeros(flat_m)
            seed[r] = 1.0
            gs = grad(y, xs, grad_outputs=lucid.tensor(seed.reshape(tuple(y.shape))), retain_graph=True, allow_unused=True)
            for j, g in enumerate(gs):
                rows[j].append(np.zeros(xs[j].numel()) if g is None else g.numpy().ravel())
    return [np.array(r) for r in rows]


X = lucid.tensor(rng.normal(size=40) * 0.3)
W = lucid.tensor(rng.normal(size=40) * 0.3)
REF = reference(two_outputs, (X, W))  # 50 + 40 + 1 = 91 rows; chunk_size cuts them into blocks


@pytest.mark.parametrize("kwargs", [
    {}, {"vectorize": True}, {"vectorize": True, "chunk_size": 1}, {"vectorize": True, "chunk_size": 7},
    {"vectorize": True, "chunk_size": 64}, {"vectorize": True, "chunk_size": 1000},
])
def test_every_row_cut_equals_row_sweeps(kwargs):
    J = jacobian(two_outputs, (X, W), **kwargs)
    assert [tuple(j.shape) for j in J] == [(91, 40), (91, 40)]
    for got, want in zip(J, REF):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-13)


def test_many_blocks_on_several_workers_are_ordered():
    """2000 rows: 8 blocks of 256, spread over the workers when they are slow enough
    (the first block is timed), reassembled in row order either way."""
    M = lucid.tensor(rng.normal(size=(2000, 20)))
    x = lucid.tensor(rng.normal(size=20))
    J = jacobian(lambda x: (M @ x).sin(), x)
    expected = np.cos(M.numpy() @ x.numpy())[:, None] * M.numpy()
    np.testing.assert_allclose(J.numpy(), expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_structured_blocks_sweep_the_rest_at_once(strategy):
    """A large diagonal Jacobian with two inputs and two outputs is cut into blocks;
    the first block's cotangents stay structured, so the rest is one more block. The
    result is the closed form either way."""
    n = 1100
    a, b = lucid.tensor(rng.normal(size=n)), lucid.tensor(rng.normal(size=n))
    Ja, Jb = jacobian(lambda a, b: (a.sin() * b, (a * b).exp()), (a, b), strategy=strategy)
    an, bn = a.numpy(), b.numpy()
    np.testing.assert_allclose(Ja.numpy(), np.vstack([np.diag(np.cos(an) * bn), np.diag(np.exp(an * bn) * bn)]),
                               rtol=1e-13, atol=0)
    np.testing.assert_allclose(Jb.numpy(), np.vstack([np.diag(np.sin(an)), np.diag(np.exp(an * bn) * an)]),
                               rtol=1e-13, atol=0)


@pytest.mark.parametrize("vectorize", [False, True])
def test_diagonal_seed_is_differentiable(vectorize):
    """create_graph through the diagonal path: d/dx sum(J) of f = sin(x) * x² equals the
    derivative of sum(diag(cos x x² + 2x sin x))."""
    x = lucid.tensor(rng.normal(size=6)).requires_grad_()
    J = jacobian(lambda x: x.sin() * x ** 2, x, create_graph=True, vectorize=vectorize)
    (g,) = grad(J.sum(), x)
    xn = x.detach().numpy()
    expected = -np.sin(xn) * xn ** 2 + 2 * xn * np.cos(xn) + 2 * np.sin(xn) + 2 * xn * np.cos(xn)
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-13)


def test_broadcast_input_under_a_diagonal_seed():
    """An input broadcast inside an elementwise op turns the diagonal into a row sum."""
    c = lucid.tensor(np.array([0.7]))
    x = lucid.tensor(rng.normal(size=5))
    Jc, Jx = jacobian(lambda c, x: (x * c).exp(), (c, x), vectorize=True)
    xn = x.numpy()
    np.testing.assert_allclose(Jc.numpy()[:, 0], xn * np.exp(xn * 0.7), rtol=1e-14)
    np.testing.assert_allclose(Jx.numpy(), np.diag(0.7 * np.exp(xn * 0.7)), rtol=1e-14)


def test_hessian_modes_agree():
    f = lambda x: ((A @ x).tanh() ** 2).sum() + (x ** 4).sum()
    x = lucid.tensor(rng.normal(size=40) * 0.2)
    H0 = hessian(f, x).numpy()
    H1 = hessian(f, x, vectorize=True).numpy()
    np.testing.assert_allclose(H1, H0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H0, H0.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("vectorize", [False, True])
def test_forward_over_reverse_hessian_equals_reverse_over_reverse(vectorize):
    f = lambda x, y: ((A @ x).tanh() ** 2).sum() * (y ** 3).sum() + (x[1:] * x[:-1]).sum()
    x = lucid.tensor(rng.normal(size=40) * 0.2)
    y = lucid.tensor(rng.normal(size=3))
    H_rev = hessian(f, (x, y), vectorize=vectorize)
    H_fwd = hessian(f, (x, y), vectorize=vectorize, strategy="forward-mode")
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(H_fwd[i][j].numpy(), H_rev[i][j].numpy(), rtol=1e-12, atol=1e-12)


def test_hessian_rejects_an_unknown_strategy():
    with pytest.raises(ValueError, match="hessian: strategy must be one of"):
        hessian(lambda x: (x ** 2).sum(), lucid.tensor(np.ones(2)), strategy="sideways")


def test_forward_over_reverse_hvp_equals_vhp():
    """H v by a tangent sweep through the gradient's graph (jvp of the gradient)
    equals vᵀH by reverse over reverse."""
    from lucid.autograd import jvp, vhp

    f = lambda x: ((A @ x).sin() ** 2).sum()
    x = lucid.tensor(rng.normal(size=40) * 0.3)
    v = lucid.tensor(rng.normal(size=40))
    g = lambda x: grad(f(x), x, create_graph=True)[0]
    np.testing.assert_allclose(jvp(g, x, v)[1].numpy(), vhp(f, x, v)[1].numpy(), rtol=1e-12, atol=1e-12)
