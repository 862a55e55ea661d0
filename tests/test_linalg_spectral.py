"""``lucid.linalg.eigh``, ``eigvalsh``, ``svd``, ``svdvals``, ``qr``, ``lstsq`` (and the
``matrix_rank``/``pinv``/``cond`` built on them): values against NumPy (reconstruction,
orthogonality, ordering, sign conventions, batches, dtypes, empty and 1×1 matrices),
errors, behaviour at degenerate spectra, and agreement with ``torch.linalg`` when it is
installed. Derivatives against central differences are in ``tests/optable/linalg.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lucid
import lucid.linalg as LA

RNG = np.random.default_rng(19)


def T(a, dtype=lucid.float64, requires_grad=False):
    return lucid.tensor(np.asarray(a, dtype=np.float64), dtype=dtype, requires_grad=requires_grad)


def sym(a):
    return (a + np.swapaxes(a, -1, -2)) / 2


def close(a, b, tol):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=tol, rtol=tol)


DTYPES = [(lucid.float64, 1e-12), (lucid.float32, 2e-5)]


# ---- values -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (3, 5, 5), (2, 1, 3, 3), (1, 1), (40, 40), (2, 70, 70)])
def test_eigh_against_numpy(dtype, tol, shape):
    a = sym(RNG.normal(size=shape))
    w, v = LA.eigh(T(a, dtype))
    assert w.dtype == dtype and v.dtype == dtype and w.shape == shape[:-1] and v.shape == shape
    wn, vn = w.numpy().astype(np.float64), v.numpy().astype(np.float64)
    close(wn, np.linalg.eigvalsh(a), tol)
    assert np.all(np.diff(wn, axis=-1) >= 0)  # ascending
    close((vn * wn[..., None, :]) @ np.swapaxes(vn, -1, -2), a, 10 * tol)
    close(np.swapaxes(vn, -1, -2) @ vn, np.broadcast_to(np.eye(shape[-1]), shape), 10 * tol)
    # sign convention: each column's component of largest magnitude is positive
    big = np.take_along_axis(vn, np.abs(vn).argmax(-2)[..., None, :], -2)
    assert np.all(big > 0)
    close(LA.eigvalsh(T(a, dtype)).numpy(), wn, tol)


def test_eigh_reads_one_triangle():
    a = sym(RNG.normal(size=(4, 4)))
    garbage_upper = np.tril(a) + np.triu(RNG.normal(size=(4, 4)), 1)
    garbage_lower = np.triu(a) + np.tril(RNG.normal(size=(4, 4)), -1)
    close(LA.eigvalsh(T(garbage_upper)).numpy(), np.linalg.eigvalsh(a), 1e-12)
    close(LA.eigh(T(garbage_lower), UPLO="U").eigenvalues.numpy(), np.linalg.eigvalsh(a), 1e-12)


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3), (2, 5, 2), (1, 1), (1, 4)])
@pytest.mark.parametrize("full", [True, False])
def test_svd_against_numpy(dtype, tol, shape, full):
    a = RNG.normal(size=shape)
    u, s, vh = LA.svd(T(a, dtype), full_matrices=full)
    un, sn, vhn = (x.numpy().astype(np.float64) for x in (u, s, vh))
    nu, ns, nvh = np.linalg.svd(a, full_matrices=full)
    assert (u.shape, s.shape, vh.shape) == (nu.shape, ns.shape, nvh.shape)
    close(sn, ns, tol)
    assert np.all(np.diff(sn, axis=-1) <= 0)  # descending
    k = min(shape[-2:])
    close((un[..., :, :k] * sn[..., None, :]) @ vhn[..., :k, :], a, 10 * tol)
    close(np.swapaxes(un, -1, -2) @ un, np.broadcast_to(np.eye(un.shape[-1]), un.shape[:-2] + (un.shape[-1],) * 2), 10 * tol)
    close(vhn @ np.swapaxes(vhn, -1, -2), np.broadcast_to(np.eye(vhn.shape[-2]), vhn.shape[:-1] + (vhn.shape[-2],)), 10 * tol)
    close(LA.svdvals(T(a, dtype)).numpy(), ns, tol)


def test_svd_of_a_rank_deficient_matrix_completes_u():
    a = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])  # rank 1, 3 × 2
    u, s, vh = LA.svd(T(a))
    close(s.numpy(), [math.sqrt(28), 0.0], 1e-12)
    close(u.numpy().T @ u.numpy(), np.eye(3), 1e-12)
    close((u.numpy()[:, :2] * s.numpy()) @ vh.numpy(), a, 1e-12)


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 5, 2)])
def test_qr_against_numpy(dtype, tol, shape):
    a = RNG.normal(size=shape)
    for mode in ("reduced", "complete"):
        q, r = LA.qr(T(a, dtype), mode=mode)
        nq, nr = np.linalg.qr(a, mode=mode)
        assert (q.shape, r.shape) == (nq.shape, nr.shape)
        qn, rn = q.numpy().astype(np.float64), r.numpy().astype(np.float64)
        close(qn @ rn, a, 10 * tol)
        close(np.swapaxes(qn, -1, -2) @ qn, np.broadcast_to(np.eye(qn.shape[-1]), qn.shape[:-2] + (qn.shape[-1],) * 2), 10 * tol)
        close(rn, np.triu(rn), 0)
        k = min(shape[-2:])
        diag = np.diagonal(rn, axis1=-2, axis2=-1)[..., :k]
        assert np.all(diag >= 0)
        # the same factors as NumPy's up to a sign per column of Q / row of R
        close(np.abs(rn[..., :k, :]), np.abs(nr[..., :k, :]), 10 * tol)
    q, r = LA.qr(T(a, dtype), mode="r")
    assert q.shape == (0,)
    close(r.numpy(), LA.qr(T(a, dtype)).R.numpy(), 0)


@pytest.mark.parametrize("shape_a,shape_b", [((5, 3), (5, 2)), ((5, 3), (5,)), ((3, 5), (3, 2)), ((2, 4, 3), (2, 4, 1)),
                                             ((2, 4, 3), (4, 2))])
def test_lstsq_against_numpy(shape_a, shape_b):
    a, b = RNG.normal(size=shape_a), RNG.normal(size=shape_b)
    res = LA.lstsq(T(a), T(b))
    if len(shape_a) == 2:
        want, resid, rank, sv = np.linalg.lstsq(a, b, rcond=None)
        close(res.solution.numpy(), want, 1e-11)
        assert res.rank.item() == rank and res.rank.dtype == lucid.int64
        if shape_a[0] > shape_a[1]:
            close(res.residuals.numpy(), resid, 1e-11)
        else:
            assert res.residuals.shape == (0,)
    else:
        bb = np.broadcast_to(b, a.shape[:-2] + b.shape[-2:])
        want = np.stack([np.linalg.lstsq(x, y, rcond=None)[0] for x, y in zip(a, bb)])
        close(res.solution.numpy(), want, 1e-11)
    assert res.singular_values.shape == (0,)  # the default driver 'gelsy' does not fill it


def test_lstsq_drivers_and_rank_deficiency():
    a = np.outer([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 2.0])  # rank 1
    b = RNG.normal(size=(4, 2))
    want = np.linalg.pinv(a) @ b
    for driver in ("gelsy", "gelsd", "gelss"):
        res = LA.lstsq(T(a), T(b), driver=driver)
        close(res.solution.numpy(), want, 1e-11)
        assert res.rank.item() == 1
        assert res.residuals.shape == (0,)  # not of full rank
    close(LA.lstsq(T(a), T(b), driver="gelsd").singular_values.numpy(), np.linalg.svd(a, compute_uv=False), 1e-12)
    with pytest.raises(RuntimeError, match="lstsq: driver 'gels' needs every matrix of full rank"):
        LA.lstsq(T(a), T(b), driver="gels")
    full = LA.lstsq(T(RNG.normal(size=(4, 3))), T(b), driver="gels")
    assert full.rank.shape == (0,) and full.residuals.shape == (2,)
    # a large rcond truncates more
    assert LA.lstsq(T(np.diag([1.0, 1e-3])), T([1.0, 1.0]), rcond=1e-2).rank.item() == 1


def test_matrix_rank_pinv_cond_and_norms():
    a = RNG.normal(size=(2, 4, 3))
    close(LA.pinv(T(a)).numpy(), np.linalg.pinv(a), 1e-11)
    assert LA.matrix_rank(T(np.outer([1.0, 2.0], [3.0, 4.0]))).item() == 1
    assert LA.matrix_rank(T(a)).tolist() == [3, 3]
    sq = RNG.normal(size=(3, 3))
    close(LA.cond(T(sq)).item(), np.linalg.cond(sq), 1e-10)
    close(LA.cond(T(sq), "fro").item(), np.linalg.cond(sq, "fro"), 1e-10)
    for ord in ("nuc", 2, -2):
        close(LA.matrix_norm(T(a), ord).numpy(), np.linalg.norm(a, ord, axis=(-2, -1)), 1e-12)
        close(LA.norm(T(sq), ord).item(), np.linalg.norm(sq, ord), 1e-12)
    kept = LA.matrix_norm(T(a), "nuc", dim=(0, 2), keepdim=True)
    close(kept.numpy(), np.linalg.norm(a, "nuc", axis=(0, 2), keepdims=True), 1e-12)


def test_empty_matrices():
    w, v = LA.eigh(lucid.zeros(2, 0, 0, dtype=lucid.float64))
    assert w.shape == (2, 0) and v.shape == (2, 0, 0)
    u, s, vh = LA.svd(lucid.zeros(3, 0))
    assert (u.shape, s.shape, vh.shape) == ((3, 3), (0,), (0, 0))
    q, r = LA.qr(lucid.zeros(0, 2))
    assert (q.shape, r.shape) == ((0, 0), (0, 2))
    assert LA.svdvals(lucid.zeros(4, 2, 0)).shape == (4, 0)


# ---- errors -----------------------------------------------------------------------------


def test_errors_name_the_op_and_what_was_given():
    with pytest.raises(ValueError, match=r"eigh: expected a square matrix .* got shape \[2, 3\]"):
        LA.eigh(lucid.zeros(2, 3))
    with pytest.raises(ValueError, match=r"svd: expected a matrix .* got shape \[3\]"):
        LA.svd(lucid.zeros(3))
    with pytest.raises(ValueError, match=r"qr: expected a matrix .* got shape \[\]"):
        LA.qr(lucid.tensor(1.0))
    with pytest.raises(TypeError, match="svdvals: expected a floating point tensor, got int64"):
        LA.svdvals(lucid.tensor([[1, 2], [3, 4]]))
    with pytest.raises(TypeError, match="eigh: expected a Tensor, got list"):
        LA.eigh([[1.0]])
    with pytest.raises(ValueError, match="eigh: UPLO must be 'L' or 'U', got 'X'"):
        LA.eigh(lucid.eye(2), UPLO="X")
    with pytest.raises(ValueError, match="qr: mode must be 'reduced', 'complete' or 'r', got 'full'"):
        LA.qr(lucid.eye(2), mode="full")
    with pytest.raises(ValueError, match="lstsq: driver must be one of .* got 'gelsx'"):
        LA.lstsq(lucid.eye(2), lucid.ones(2), driver="gelsx")
    with pytest.raises(ValueError, match=r"lstsq: A of shape \[3, 2\] and B of shape \[2\] need the same number of rows"):
        LA.lstsq(lucid.zeros(3, 2), lucid.ones(2))
    with pytest.raises(TypeError, match="svd: full_matrices must be a bool, got str"):
        LA.svd(lucid.eye(2), full_matrices="yes")


@pytest.mark.parametrize("op", [LA.eigh, LA.svd, LA.qr, LA.svdvals])
def test_nan_and_inf_are_runtime_errors(op):
    a = np.eye(3)[None].repeat(2, 0)
    a[1, 0, 0] = np.nan
    with pytest.raises(RuntimeError, match=r"holds NaN or infinity.*|.*batch index \(1,\)"):
        op(T(a))
    a[1, 0, 0] = np.inf
    with pytest.raises(RuntimeError, match=r"batch index \(1,\)"):
        op(T(a))


def test_qr_backward_errors_where_pytorch_raises():
    x = T(RNG.normal(size=(4, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="mode='r'"):
        LA.qr(x, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' is not differentiable for a tall matrix"):
        LA.qr(x, mode="complete").Q.sum().backward()


# ---- degenerate spectra (NOTE [degenerate spectra] in lucid/linalg.py) -------------------


def test_eigenvalue_gradients_are_finite_at_repeated_eigenvalues():
    x = lucid.eye(3, dtype=lucid.float64).requires_grad_()
    (LA.eigvalsh(x) * T([1.0, 2.0, 3.0])).sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))
    # Σ λ = trace: exactly the identity, whatever basis eigh picked
    g = lucid.autograd.grad(LA.eigh(x).eigenvalues.sum(), x)[0]
    close(g.numpy(), np.eye(3), 1e-15)
    # the same through the Jacobian, both modes
    for strategy in ("reverse-mode", "forward-mode"):
        J = lucid.autograd.jacobian(lambda a: LA.eigvalsh(a), x.detach(), strategy=strategy)
        assert np.all(np.isfinite(J.numpy()))
    s_grad = lucid.autograd.grad(LA.svdvals(x).sum(), x)[0]
    close(s_grad.numpy(), np.eye(3), 1e-15)


def test_eigenvector_gradients_are_inf_or_nan_at_repeated_eigenvalues():
    x = lucid.eye(3, dtype=lucid.float64).requires_grad_()
    g = lucid.autograd.grad(LA.eigh(x).eigenvectors[:, 0].sum(), x)[0]
    assert not np.all(np.isfinite(g.numpy()))
    # at distinct eigenvalues the same is finite
    y = T(np.diag([1.0, 2.0, 3.0]), requires_grad=True)
    g = lucid.autograd.grad(LA.eigh(y).eigenvectors[:, 0].sum(), y)[0]
    assert np.all(np.isfinite(g.numpy()))


def test_singular_vector_gradients_are_inf_or_nan_at_repeated_values():
    x = lucid.eye(2, dtype=lucid.float64).requires_grad_()
    g = lucid.autograd.grad(LA.svd(x).U[:, 0].sum(), x)[0]
    assert not np.all(np.isfinite(g.numpy()))


def test_create_graph_through_eigh_gives_hessians():
    # f(A) = Σ λ² = ‖A‖_F² for symmetric A: Hessian of f(sym(x)) is the constant 2·P
    # with P the symmetrisation projector
    a = sym(RNG.normal(size=(3, 3))) + np.diag([0.0, 3.0, 6.0])

    def f(x):
        return (LA.eigvalsh((x + x.mT) / 2) ** 2).sum()

    H = lucid.autograd.hessian(f, T(a)).numpy().reshape(9, 9)
    P = np.zeros((9, 9))
    for i in range(3):
        for j in range(3):
            P[i * 3 + j, i * 3 + j] += 0.5
            P[i * 3 + j, j * 3 + i] += 0.5
    close(H, 2 * P, 1e-10)


# ---- against PyTorch ---------------------------------------------------------------------


def test_against_torch_when_installed():
    torch = pytest.importorskip("torch")
    a = RNG.normal(size=(2, 4, 3))
    s = sym(RNG.normal(size=(2, 3, 3)))
    b = RNG.normal(size=(2, 4, 2))
    ta, ts, tb = (torch.tensor(x, requires_grad=True) for x in (a, s, b))
    la, ls, lb = (T(x, requires_grad=True) for x in (a, s, b))
    # values
    close(LA.eigvalsh(ls).detach().numpy(), torch.linalg.eigvalsh(ts).detach().numpy(), 1e-12)
    close(LA.svdvals(la).detach().numpy(), torch.linalg.svdvals(ta).detach().numpy(), 1e-12)
    close(LA.lstsq(la, lb).solution.detach().numpy(), torch.linalg.lstsq(ta, tb).solution.detach().numpy(), 1e-11)
    # gradients of sign-invariant functions
    def eig_loss(lib, x):
        w, v = lib.linalg.eigh(x)
        return ((v * w.sin()[..., None, :]) @ v.mT).pow(2).sum() + w.sum()

    def svd_loss(lib, x):
        u, s, vh = lib.linalg.svd(x, full_matrices=False)
        return ((u * s.cos()[..., None, :]) @ vh).pow(2).sum() + (u ** 2)[..., 0, :].sum()

    def qr_loss(lib, x):
        q, r = lib.linalg.qr(x)
        sign = r.diagonal(0, -2, -1).sign()  # torch's R may have a negative diagonal
        return ((q * sign[..., None, :]) ** 3).sum() + ((r * sign[..., :, None]) ** 3).sum()

    def lstsq_loss(lib, x, y):
        return (lib.linalg.lstsq(x, y).solution ** 2).sum()

    for loss, lx, tx in ((eig_loss, ls, ts), (svd_loss, la, ta), (qr_loss, la, ta)):
        gl = lucid.autograd.grad(loss(lucid, lx), lx)[0].numpy()
        gt = torch.autograd.grad(loss(torch, tx), tx)[0].numpy()
        close(gl, gt, 1e-10)
    gl = lucid.autograd.grad(lstsq_loss(lucid, la, lb), (la, lb))
    gt = torch.autograd.grad(lstsq_loss(torch, ta, tb), (ta, tb))
    for x, y in zip(gl, gt):
        close(x.numpy(), y.numpy(), 1e-10)


def test_gradients_against_jax_when_installed():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    a = RNG.normal(size=(2, 4, 3))
    s = sym(RNG.normal(size=(2, 3, 3)))
    b = RNG.normal(size=(2, 4, 2))

    # losses independent of each vector's sign (JAX takes LAPACK's signs)
    def eig_loss(np_, eigh, x):
        w, v = eigh(x)
        return (((v * np_.sin(w)[..., None, :]) @ np_.swapaxes(v, -1, -2)) ** 2).sum() + (v ** 4).sum()

    def svd_loss(np_, svd, x):
        u, sv, vh = svd(x)
        return (((u * np_.cos(sv)[..., None, :]) @ vh) ** 2).sum() + (u ** 4).sum() + (vh ** 2 * sv[..., :, None]).sum()

    def qr_loss(np_, qr, x):
        q, r = qr(x)
        d = np_.sign(np_.diagonal(r, 0, -2, -1))
        return ((q * d[..., None, :]) ** 3).sum() + ((r * d[..., :, None]) ** 3).sum()

    class L:  # the NumPy-like names the losses use, over lucid tensors
        sin = staticmethod(lambda x: x.sin())
        cos = staticmethod(lambda x: x.cos())
        sign = staticmethod(lambda x: x.sign())
        diagonal = staticmethod(lambda x, o, d1, d2: x.diagonal(o, d1, d2))
        swapaxes = staticmethod(lambda x, i, j: x.transpose(i, j))

    pairs = [
        (eig_loss, lambda x: LA.eigh(x), jnp.linalg.eigh, s),
        (svd_loss, lambda x: LA.svd(x, full_matrices=False), lambda x: jnp.linalg.svd(x, full_matrices=False), a),
        (qr_loss, lambda x: LA.qr(x), jnp.linalg.qr, a),
    ]
    for loss, lucid_op, jax_op, x in pairs:
        lx = T(x, requires_grad=True)
        gl = lucid.autograd.grad(loss(L, lucid_op, lx), lx)[0].numpy()
        gj = np.asarray(jax.grad(lambda y: loss(jnp, jax_op, y))(jnp.asarray(x)))
        close(gl, gj, 1e-9)
    # lstsq of full-rank tall systems: the solution's gradient in A and B
    la, lb = T(a, requires_grad=True), T(b, requires_grad=True)
    gl = lucid.autograd.grad((LA.lstsq(la, lb).solution ** 2).sum(), (la, lb))
    gj = jax.grad(lambda x, y: (jnp.linalg.lstsq(x[0], y[0])[0] ** 2).sum() + (jnp.linalg.lstsq(x[1], y[1])[0] ** 2).sum(),
                  argnums=(0, 1))(jnp.asarray(a), jnp.asarray(b))
    for x, y in zip(gl, gj):
        close(x.numpy(), np.asarray(y), 1e-9)


@pytest.mark.parametrize("shape", [(4, 2), (2, 4)])
def test_full_matrices_gradient_ignores_the_completion(shape):
    # the columns of a full U (rows of a full Vh) past k are any orthonormal completion:
    # their cotangents are ignored (as PyTorch), so a loss reading only the first k
    # columns has the reduced SVD's gradient, and one reading the rest has zero
    a = RNG.normal(size=shape) + np.eye(*shape) * 2
    k = min(shape)

    def loss(x, full, extra=False):
        u, s, vh = LA.svd(x, full_matrices=full)
        if extra:
            return (u[:, k:] ** 2).sum() + (vh[k:, :] ** 2).sum()
        return ((u[:, :k] * s) @ vh[:k, :]).sin().sum() + (u[:, :k] ** 4).sum()

    x = T(a, requires_grad=True)
    g_full = lucid.autograd.grad(loss(x, True), x)[0]
    g_reduced = lucid.autograd.grad(loss(x, False), x)[0]
    close(g_full.numpy(), g_reduced.numpy(), 1e-13)
    close(lucid.autograd.grad(loss(x, True, extra=True), x)[0].numpy(), np.zeros(shape), 0)
    J = lucid.autograd.jacobian(lambda y: LA.svd(y).U, T(a), strategy="forward-mode")
    assert np.all(np.isfinite(J.numpy()))
