"""lucid.func against independent oracles: HIPS autograd always, JAX and torch.func when
installed. The same cases run through each: pytrees, argnums tuples, has_aux, nested
transforms, vmap with in_dims=(0, None)."""

import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import lucid
from lucid import func as lf

RNG = np.random.default_rng(7)


def t(a):
    return lucid.tensor(np.asarray(a, dtype=np.float64))


def close(a, b, tol=1e-10):
    a = a.numpy() if isinstance(a, lucid.Tensor) else np.asarray(a)
    b = np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.allclose(a, b, rtol=tol, atol=tol), np.abs(a - b).max()


def tree_close(got, want, tol=1e-10):
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want)
        for k in want:
            tree_close(got[k], want[k], tol)
    elif isinstance(want, (tuple, list)):
        assert type(got) is type(want) and len(got) == len(want), (type(got), type(want))
        for g, w in zip(got, want):
            tree_close(g, w, tol)
    else:
        close(got, want, tol)


# ---- the cases: one function written for each library --------------------------------

def f_lucid(A, x):
    return (A @ x).sin() * x.sum()


def f_np(A, x):
    return anp.sin(A @ x) * anp.sum(x)


A0 = RNG.normal(size=(3, 4))
X0 = RNG.normal(size=4)


def test_jacobians_are_shaped_out_plus_in():
    A = RNG.normal(size=(2, 2))
    want = autograd.jacobian(lambda A: A @ A)(A)
    for transform in (lf.jacrev, lf.jacfwd):
        got = transform(lambda A: A @ A)(t(A))
        assert got.shape == (2, 2, 2, 2)
        close(got, want)


@pytest.mark.parametrize("transform", [lf.jacrev, lf.jacfwd])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,), -1])
def test_argnums_against_autograd(transform, argnums):
    got = transform(f_lucid, argnums=argnums)(t(A0), t(X0))
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    want = tuple(autograd.jacobian(f_np, n % 2)(A0, X0) for n in nums)
    tree_close(got, want if isinstance(argnums, tuple) else want[0])


def test_pytrees_in_and_out():
    params = {"w": t(RNG.normal(size=(3, 2))), "b": t(RNG.normal(size=3))}
    x = t(RNG.normal(size=2))

    def model(p, x):
        h = (p["w"] @ x + p["b"]).tanh()
        return {"h": h, "s": (h * h).sum()}

    def model_np(w, b, x):
        h = anp.tanh(w @ x + b)
        return h, anp.sum(h * h)

    w, b = params["w"].numpy(), params["b"].numpy()
    for transform in (lf.jacrev, lf.jacfwd):
        got = transform(model)(params, x)
        assert list(got) == ["h", "s"] and list(got["h"]) == ["w", "b"]
        close(got["h"]["w"], autograd.jacobian(lambda w: model_np(w, b, x.numpy())[0])(w))
        close(got["h"]["b"], autograd.jacobian(lambda b: model_np(w, b, x.numpy())[0])(b))
        close(got["s"]["w"], autograd.grad(lambda w: model_np(w, b, x.numpy())[1])(w))
    g = lf.grad(lambda p, x: model(p, x)["s"])(params, x)
    close(g["b"], autograd.grad(lambda b: model_np(w, b, x.numpy())[1])(b))
    # lists and tuples keep their types
    got = lf.grad(lambda ps: ps[0].sum() * ps[1][0].sum())([t([1.0, 2.0]), (t([3.0]),)])
    assert isinstance(got, list) and isinstance(got[1], tuple)
    tree_close(got, [np.array([3.0, 3.0]), (np.array([3.0]),)])


def test_has_aux():
    def loss(w, x):
        y = w * x
        return (y * y).sum(), {"y": y}

    w, x = t([1.0, 2.0]), t([3.0, 4.0])
    g, aux = lf.grad(loss, has_aux=True)(w, x)
    close(g, 2 * np.array([3.0, 8.0]) * np.array([3.0, 4.0]))
    close(aux["y"], [3.0, 8.0])
    g, (v, aux) = lf.grad_and_value(loss, has_aux=True)(w, x)
    close(v, 73.0)
    j, aux = lf.jacrev(lambda x: (x * 2, x.sum()), has_aux=True)(x)
    close(j, 2 * np.eye(2)) and close(aux, 7.0)
    out, vjp_fn, aux = lf.vjp(lambda x: (x.exp(), x[0]), x, has_aux=True)
    close(vjp_fn(t([1.0, 1.0]))[0], np.exp([3.0, 4.0]))
    close(aux, 3.0)
    out, tangent, aux = lf.jvp(lambda x: (x.exp(), "aux"), (x,), (t([1.0, 0.0]),), has_aux=True)
    assert aux == "aux"
    close(tangent, [np.exp(3.0), 0.0])


def test_nested_transforms_to_third_order():
    def f(x):
        return (x.sin() * x.prod()).sum()

    def f_np(x):
        return anp.sum(anp.sin(x) * anp.prod(x))

    x0 = RNG.normal(size=3)
    close(lf.hessian(f)(t(x0)), autograd.hessian(f_np)(x0), 1e-9)
    close(lf.jacfwd(lf.jacrev(f))(t(x0)), autograd.hessian(f_np)(x0), 1e-9)
    close(lf.jacrev(lf.jacrev(f))(t(x0)), autograd.hessian(f_np)(x0), 1e-9)
    close(lf.jacrev(lf.jacfwd(lf.grad(f)))(t(x0)), autograd.jacobian(autograd.hessian(f_np))(x0), 1e-8)
    close(lf.grad(lambda x: lf.grad(f)(x).sum())(t(x0)), autograd.grad(lambda x: anp.sum(autograd.grad(f_np)(x)))(x0), 1e-9)


def test_vjp_and_jvp_and_linearize():
    A, x = t(A0), t(X0)
    v = RNG.normal(size=3)
    out, vjp_fn = lf.vjp(f_lucid, A, x)
    close(out, f_np(A0, X0))
    gA, gx = vjp_fn(t(v))
    close(gA, autograd.make_vjp(f_np, 0)(A0, X0)[0](v))
    close(gx, autograd.make_vjp(f_np, 1)(A0, X0)[0](v))
    again = vjp_fn(t(v))  # callable more than once
    close(again[1], gx)
    dA, dx = RNG.normal(size=(3, 4)), RNG.normal(size=4)
    out, tangent = lf.jvp(f_lucid, (A, x), (t(dA), t(dx)))
    want = autograd.jacobian(f_np, 0)(A0, X0).reshape(3, 12) @ dA.reshape(12) + autograd.jacobian(f_np, 1)(A0, X0) @ dx
    close(tangent, want)
    out, jvp_fn = lf.linearize(f_lucid, A, x)
    close(out, f_np(A0, X0))
    close(jvp_fn(t(dA), t(dx)), want)


def test_vmap_per_sample_jacobians_and_gradients():
    W1, W2 = RNG.normal(size=(5, 3)), RNG.normal(size=(2, 5))
    xs = RNG.normal(size=(6, 3))

    def mlp(x, W1, W2):
        return W2 @ (W1 @ x).tanh()

    def mlp_np(x, W1, W2):
        return W2 @ anp.tanh(W1 @ x)

    got = lf.vmap(lf.jacrev(mlp), in_dims=(0, None, None))(t(xs), t(W1), t(W2))
    close(got, np.stack([autograd.jacobian(mlp_np)(x, W1, W2) for x in xs]))
    got = lf.vmap(lf.jacfwd(mlp), in_dims=(0, None, None))(t(xs), t(W1), t(W2))
    close(got, np.stack([autograd.jacobian(mlp_np)(x, W1, W2) for x in xs]))
    ys = RNG.normal(size=(6, 2))

    def loss(W1, x, y):
        return ((mlp(x, W1, t(W2)) - y) ** 2).sum()

    def loss_np(W1, x, y):
        return anp.sum((mlp_np(x, W1, W2) - y) ** 2)

    got = lf.vmap(lf.grad(loss), in_dims=(None, 0, 0))(t(W1), t(xs), t(ys))
    assert got.shape == (6, 5, 3)
    close(got, np.stack([autograd.grad(loss_np)(W1, x, y) for x, y in zip(xs, ys)]))


def test_vmap_dims_pytrees_and_value_dependent_branches():
    xs = RNG.normal(size=(3, 4, 2))
    got = lf.vmap(lambda x: x.T @ x, in_dims=1)(t(xs))
    close(got, np.stack([xs[:, b].T @ xs[:, b] for b in range(4)]))
    got = lf.vmap(lambda d: {"s": d["a"] * d["b"]}, in_dims=({"a": 0, "b": None},), out_dims={"s": 1})(
        {"a": t(xs[:, :, 0]), "b": t([2.0] * 4)})
    close(got["s"], (xs[:, :, 0] * 2.0).T)

    def branchy(x):
        return x * 2 if float(x.sum()) > 0 else -x

    vals = t([[1.0, 2.0], [-3.0, -1.0], [4.0, 0.0], [-1.0, -1.0]])
    close(lf.vmap(branchy)(vals), [[2, 4], [3, 1], [8, 0], [1, 1]])
    close(lf.vmap(lf.vmap(lambda a, b: a * b), in_dims=(0, None))(t(xs[:, :, 0]), t([1.0, 2, 3, 4])),
          xs[:, :, 0] * np.array([1.0, 2, 3, 4]))


def test_vmap_randomness_follows_torch_func():
    xs = lucid.zeros(4, 2, dtype=lucid.float64)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        lf.vmap(lambda x: x + lucid.randn(2, dtype=lucid.float64))(xs)
    same = lf.vmap(lambda x: x + lucid.randn(2, dtype=lucid.float64), randomness="same")(xs).numpy()
    assert (same == same[0]).all()
    different = lf.vmap(lambda x: x + lucid.randn(2, dtype=lucid.float64), randomness="different")(xs).numpy()
    assert len({tuple(r) for r in different}) == 4


def test_vmap_of_a_function_a_tape_cannot_replay_runs_per_element():
    def writes(x):
        y = x * 1.0
        y[0] = y[1] ** 2
        return y

    xs = t(RNG.normal(size=(5, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = lf.vmap(writes)(xs)
    want = xs.numpy().copy()
    want[:, 0] = want[:, 1] ** 2
    close(got, want)


def test_errors_name_the_transform_and_argument():
    f = lambda a, b: a * b  # noqa: E731
    x = t([1.0])
    with pytest.raises(RuntimeError, match="jacrev: argnums 2 is out of range for a function of 2 positional arguments"):
        lf.jacrev(f, argnums=2)(x, x)
    with pytest.raises(RuntimeError, match=r"grad: argnums must be an int or a non-empty tuple of ints, got \(\)"):
        lf.grad(f, argnums=())(x, x)
    with pytest.raises(RuntimeError, match="grad: the function must return a one-element Tensor"):
        lf.grad(lambda x: x * 2)(t([1.0, 2.0]))
    with pytest.raises(RuntimeError, match=r"jacfwd: with has_aux=True the function must return a tuple \(output, aux\)"):
        lf.jacfwd(lambda x: x, has_aux=True)(x)
    with pytest.raises(RuntimeError, match="jacrev: expected argument 0 to be Tensors or pytrees of Tensors, got str"):
        lf.jacrev(lambda s: s)("x")
    with pytest.raises(TypeError, match="vmap: func must be callable"):
        lf.vmap(3)
    with pytest.raises(ValueError, match=r"vmap: the mapped dims of the inputs have different sizes \[2, 3\]"):
        lf.vmap(f)(lucid.zeros(2), lucid.zeros(3))
    with pytest.raises(ValueError, match="vmap: in_dim 1 is out of range for an input with 1 dims"):
        lf.vmap(f, in_dims=(0, 1))(lucid.zeros(2), lucid.zeros(2))
    with pytest.raises(ValueError, match="vmap: at least one input must be mapped"):
        lf.vmap(f, in_dims=None)(lucid.zeros(2), lucid.zeros(2))
    with pytest.raises(ValueError, match="vmap: randomness must be"):
        lf.vmap(f, randomness="sometimes")
    with pytest.raises(RuntimeError, match="vjp: the cotangents must have the structure"):
        lf.vjp(lambda x: (x, x), x)[1](x)
    with pytest.raises(RuntimeError, match=r"jvp: a tangent has shape \(2,\), its primal \(1,\)"):
        lf.jvp(lambda x: x, (x,), (t([1.0, 2.0]),))


def test_the_function_runs_once_per_transform_call():
    calls = []

    def f(x):
        calls.append(1)
        return x.sin()

    x = t(RNG.normal(size=3))
    for transform in (lf.jacrev, lf.jacfwd):
        calls.clear()
        transform(f)(x)
        assert len(calls) == 1
    calls.clear()
    lf.vmap(f)(t(RNG.normal(size=(50, 3))))
    assert len(calls) == 1  # recorded once, replayed per element


# ---- JAX and torch.func, when installed ------------------------------------------------


def test_against_jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy

    def fj(A, x):
        return jnp.sin(A @ x) * jnp.sum(x)

    tree_close(lf.jacrev(f_lucid, argnums=(0, 1))(t(A0), t(X0)),
               tuple(np.asarray(j) for j in jax.jacrev(fj, argnums=(0, 1))(A0, X0)))
    xs = RNG.normal(size=(5, 4))
    close(lf.vmap(lf.jacrev(f_lucid, argnums=1), in_dims=(None, 0))(t(A0), t(xs)),
          np.asarray(jax.vmap(jax.jacrev(fj, argnums=1), in_axes=(None, 0))(A0, xs)))
    close(lf.hessian(lambda x: (x.sin() * x).sum())(t(X0)),
          np.asarray(jax.hessian(lambda x: jnp.sum(jnp.sin(x) * x))(X0)))


def test_against_torch_func():
    torch = pytest.importorskip("torch")
    tf = torch.func

    def ft(A, x):
        return torch.sin(A @ x) * x.sum()

    At, xt = torch.tensor(A0), torch.tensor(X0)
    tree_close(lf.jacrev(f_lucid, argnums=(0, 1))(t(A0), t(X0)),
               tuple(j.numpy() for j in tf.jacrev(ft, argnums=(0, 1))(At, xt)))
    xs = RNG.normal(size=(5, 4))
    close(lf.vmap(lf.jacrev(f_lucid, argnums=1), in_dims=(None, 0))(t(A0), t(xs)),
          tf.vmap(tf.jacrev(ft, argnums=1), in_dims=(None, 0))(At, torch.tensor(xs)).numpy())
