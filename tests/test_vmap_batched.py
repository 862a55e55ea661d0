"""Batched replay (NOTE [batched replay] in ``crates/lucid-core/src/functional/batch.rs``):
a tape run once over a whole batch with each op's batching rule equals the tape run per
sample — values and per-sample Jacobians, for every op of the conformance table, shared
(unbatched) operands included — and ``lucid.func.vmap`` takes that path first: per-sample
gradients, Jacobians and Hessians against per-element results and HIPS autograd (JAX when
installed), guards taken differently per sample (which must fall back and stay right),
randomness modes, and no per-sample fallback for the benchmark's functions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lucid
from lucid import _core
from lucid import _vmap
from lucid.autograd import jacobian
from lucid.func import grad, hessian, jacfwd, jacrev, vmap

from optable import all_cases

CASES = all_cases()
PARAMS = [pytest.param(case, v, id=f"{case.name}-{'x'.join(map(str, v))}") for case in CASES for v in case.variants]
B = 3


def close(got, want, what=""):
    got = got.numpy() if isinstance(got, lucid.Tensor) else np.asarray(got)
    want = want.numpy() if isinstance(want, lucid.Tensor) else np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=what)


def taped(case, shapes, rng):
    samples = [case.sample(rng, shapes) for _ in range(B)]
    wrt = case.wrt_of(samples[0])
    f = case.partial(samples[0], wrt)
    per = [tuple(lucid.tensor(np.asarray(s[i], dtype=np.float64)) for i in wrt) for s in samples]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = lucid.tape(f, per[0])
    return f, t, per


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_every_op_batched_equals_per_sample(case, shapes):
    f, t, per = taped(case, shapes, np.random.default_rng(5))
    stacked = [lucid.stack([p[k] for p in per], 0) for k in range(len(per[0]))]
    got = t.batched(stacked, [True] * len(stacked))
    if got is None:
        # a guard differs between samples: allowed only where the graph reads values
        assert "graph_depends_on_values" in case.tags
        return
    (out,), _ = got
    for b in range(B):
        close(out[b], f(*per[b]).detach(), f"{case.name} sample {b}")
    for level, strategy in (("jacrev", "reverse-mode"), ("jacfwd", "forward-mode")):
        found = t.batched(stacked, [True] * len(stacked), [level], len(stacked))
        assert found is not None
        blocks, _ = found
        for b in range(B):
            want = jacobian(f, per[b], strategy=strategy)
            want = want if isinstance(want, tuple) else (want,)
            for blk, w, x in zip(blocks, want, per[b]):
                close(blk[b].reshape(w.shape), w, f"{case.name} {level} sample {b}")


def _shares_an_input(p):
    """At least two differentiated inputs, so one can be shared by all samples."""
    case, shapes = p.values
    return len(shapes) >= 2 and (case.wrt is None or len(case.wrt) >= 2)


@pytest.mark.parametrize("case,shapes", [p for p in PARAMS if _shares_an_input(p)])
def test_shared_operands_broadcast_per_sample(case, shapes):
    """Every input but the first shared by all samples (the per-sample value, no batch
    dim): the batched operands may have lower rank than the shared ones."""
    f, t, per = taped(case, shapes, np.random.default_rng(6))
    assert len(per[0]) >= 2
    shared = list(per[0][1:])
    inputs = [lucid.stack([p[0] for p in per], 0)] + shared
    got = t.batched(inputs, [True] + [False] * len(shared), ["jacrev"], 1)
    if got is None:
        assert "graph_depends_on_values" in case.tags
        return
    (jac, *_), _ = got
    values, _ = t.batched(inputs, [True] + [False] * len(shared))
    for b in range(B):
        args = (per[b][0], *shared)
        close(values[0][b], f(*args).detach(), f"{case.name} value {b}")
        want = jacobian(f, args)[0]
        close(jac[b].reshape(want.shape), want, f"{case.name} jacobian {b}")


# ---- matmul: every rank and sharing combination ------------------------------------------

RANKS = [((3,), (3,)), ((3,), (3, 2)), ((4, 3), (3,)), ((4, 3), (3, 2)), ((2, 4, 3), (3, 2)),
         ((4, 3), (2, 3, 5)), ((2, 4, 3), (2, 3, 5)), ((3,), (2, 3, 5)), ((2, 4, 3), (3,))]


@pytest.mark.parametrize("sa,sb", RANKS)
@pytest.mark.parametrize("dims", [(0, 0), (0, None), (None, 0), (1, 0)])
def test_matmul_batched_in_every_shape(sa, sb, dims):
    rng = np.random.default_rng(7)
    a = lucid.tensor(rng.standard_normal((B, *sa)) if dims[0] == 0 else rng.standard_normal(sa))
    if dims[0] == 1:
        a = lucid.tensor(rng.standard_normal((sa[0], B, *sa[1:])))
    b = lucid.tensor(rng.standard_normal((B, *sb)) if dims[1] == 0 else rng.standard_normal(sb))
    f = lambda a, b: a @ b  # noqa: E731
    got = vmap(f, in_dims=dims)(a, b)
    J = vmap(jacrev(f, argnums=(0, 1)), in_dims=dims)(a, b)

    def elem(x, d, i):
        return x if d is None else x.select(d, i)
    for i in range(B):
        ai, bi = elem(a, dims[0], i), elem(b, dims[1], i)
        close(got[i], ai @ bi, f"value {i}")
        ja, jb = jacobian(f, (ai, bi))
        close(J[0][i].reshape(ja.shape), ja, f"d/da {i}")
        close(J[1][i].reshape(jb.shape), jb, f"d/db {i}")


# ---- vmap takes the batched path --------------------------------------------------------

@pytest.fixture
def batched_only(monkeypatch):
    """vmap must not leave the batched path (the per-element ways raise), and no op may
    run per sample; yields a function giving the fallbacks since the test began."""
    def refuse(*args, **kwargs):
        raise AssertionError("vmap left the batched path")
    monkeypatch.setattr(_vmap._Batch, "by_tape", refuse)
    monkeypatch.setattr(_vmap._Batch, "by_calls", refuse)
    before = dict(_core.batch_fallbacks())
    yield lambda: {k: v - before.get(k, 0) for k, v in _core.batch_fallbacks().items() if v != before.get(k, 0)}


def mlp_args(rng, n=6):
    W1, b1 = rng.standard_normal((16, 8)), rng.standard_normal(16)
    W2, b2 = rng.standard_normal((4, 16)), rng.standard_normal(4)
    X = rng.standard_normal((n, 8))
    return X, W1, b1, W2, b2


def mlp(x, W1, b1, W2, b2):
    return W2 @ (W1 @ x + b1).tanh() + b2


def test_mlp_per_sample_jacobians_batched_without_fallback(batched_only):
    args = [lucid.tensor(a) for a in mlp_args(np.random.default_rng(0))]
    J = vmap(jacrev(mlp), in_dims=(0, None, None, None, None))(*args)
    Jf = vmap(jacfwd(mlp), in_dims=(0, None, None, None, None))(*args)
    assert batched_only() == {}
    import autograd
    import autograd.numpy as anp

    def amlp(x, W1, b1, W2, b2):
        return W2 @ anp.tanh(W1 @ x + b1) + b2
    X, *W = (a.numpy() for a in args)
    for i in range(X.shape[0]):
        want = autograd.jacobian(amlp)(X[i], *W)
        close(J[i], want, f"jacrev sample {i}")
        close(Jf[i], want, f"jacfwd sample {i}")


def loss(w, x, y):
    return (((w @ x).tanh() - y) ** 2).sum()


def test_per_sample_gradients_of_a_shared_weight(batched_only):
    rng = np.random.default_rng(1)
    w, X, Y = (lucid.tensor(a) for a in (rng.standard_normal((8, 4)), rng.standard_normal((20, 4)),
                                         rng.uniform(-1, 1, (20, 8))))
    G = vmap(grad(loss), in_dims=(None, 0, 0))(w, X, Y)
    assert G.shape == (20, 8, 4)
    assert batched_only() == {}
    import autograd
    import autograd.numpy as anp
    g = autograd.grad(lambda w, x, y: anp.sum((anp.tanh(w @ x) - y) ** 2))
    for i in range(20):
        close(G[i], g(w.numpy(), X.numpy()[i], Y.numpy()[i]), f"sample {i}")


def test_argnums_tuple_pytrees_and_out_dims(batched_only):
    rng = np.random.default_rng(2)
    params = {"w": lucid.tensor(rng.standard_normal((3, 2))), "b": lucid.tensor(rng.standard_normal(3))}
    X = lucid.tensor(rng.standard_normal((2, 5)))  # the batch on dim 1

    def f(p, x):
        return ((p["w"] @ x + p["b"]).sin() ** 2).sum()
    G = vmap(grad(f, argnums=(0, 1)), in_dims=(None, 1), out_dims=1)(params, X)
    assert set(G[0]) == {"w", "b"} and G[0]["w"].shape == (3, 5, 2) and G[1].shape == (2, 5)
    for i in range(5):
        want = grad(f, argnums=(0, 1))(params, X[:, i])
        close(G[0]["w"][:, i], want[0]["w"])
        close(G[0]["b"][:, i], want[0]["b"])
        close(G[1][:, i], want[1])


def test_hessians_and_nested_transforms(batched_only):
    rng = np.random.default_rng(3)
    X = lucid.tensor(rng.standard_normal((4, 3)))

    def f(x):
        return (x.sin() * x ** 2).sum() + x.prod()
    H = vmap(hessian(f))(X)
    H2 = vmap(jacfwd(jacrev(f)))(X)
    H3 = vmap(jacrev(jacrev(f)))(X)
    assert batched_only() == {}
    for i in range(4):
        want = hessian(f)(X[i])
        close(H[i], want)
        close(H2[i], want)
        close(H3[i], want)


def test_chunked_vmap_and_broadcasting_corner(batched_only):
    rng = np.random.default_rng(4)
    W = lucid.tensor(rng.standard_normal((4, 3)))
    X = lucid.tensor(rng.standard_normal((7, 3)))

    def f(x, W):
        # x (3,) per sample broadcasts against the shared W (4, 3): lower rank than it
        return (x * W).exp() + x
    J = vmap(jacrev(f, argnums=(0, 1)), in_dims=(0, None), chunk_size=3)(X, W)
    for i in range(7):
        jx, jw = jacrev(f, argnums=(0, 1))(X[i], W)
        close(J[0][i], jx)
        close(J[1][i], jw)


# ---- guards and randomness ----------------------------------------------------------------

def test_guards_taken_differently_per_sample_fall_back_and_stay_right():
    def f(x):
        return x.sin() if x.sum() > 0 else x.cos() * 3.0
    X = lucid.tensor([[1.0, 2.0], [-1.0, -2.0], [0.5, 0.1]])
    got = vmap(f)(X)
    G = vmap(jacrev(f))(X)
    for i in range(3):
        close(got[i], f(X[i]))
        close(G[i], jacrev(f)(X[i]))
    # the same branch everywhere: the batched path answers
    same = lucid.tensor([[1.0, 2.0], [3.0, 4.0]])
    t = lucid.tape(f, same[0])
    assert t.batched([same], [True]) is not None
    assert t.batched([X], [True]) is None


def test_randomness_modes():
    X = lucid.zeros(4, 3, dtype=lucid.float64)

    def f(x):
        return x + lucid.randn(3, dtype=lucid.float64)
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(f)(X)
    same = vmap(f, randomness="same")(X)
    assert np.all(same.numpy() == same.numpy()[0])
    different = vmap(f, randomness="different")(X)
    assert not np.all(different.numpy() == different.numpy()[0])


def test_random_same_draw_batched_with_gradients():
    X = lucid.tensor(np.random.default_rng(8).standard_normal((5, 3)))

    def f(x):
        return (x * lucid.rand(3, dtype=lucid.float64)).sum()
    G = vmap(grad(f), randomness="same")(X)
    assert np.all(G.numpy() == G.numpy()[0])


# ---- oracles ----------------------------------------------------------------------------------

def test_against_jax_when_installed():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    rng = np.random.default_rng(9)
    args = mlp_args(rng, 5)
    J = vmap(jacrev(mlp), in_dims=(0, None, None, None, None))(*(lucid.tensor(a) for a in args))

    def jmlp(x, W1, b1, W2, b2):
        return W2 @ jnp.tanh(W1 @ x + b1) + b2
    want = jax.vmap(jax.jacrev(jmlp), in_axes=(0, None, None, None, None))(*(jnp.asarray(a) for a in args))
    close(J, np.asarray(want))


def test_advanced_indexing_batches_without_fallback(batched_only):
    X = lucid.tensor(np.random.default_rng(10).standard_normal((4, 5)))
    idx = lucid.tensor([4, 0, 2, 4])

    def f(x):
        return x[idx].exp() * x.index_select(0, idx[:2]).sum()  # gathers of flat positions
    got = vmap(f)(X)
    J = vmap(jacrev(f))(X)
    for i in range(4):
        close(got[i], f(X[i]))
        close(J[i], jacrev(f)(X[i]))
    assert batched_only() == {}