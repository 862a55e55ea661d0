"""The fast paths of the kernels agree with NumPy: each case is sized to take one
specific path (matrix-vector, GEMM, transposed operands, broadcast materialisation,
tiled transposes, concatenation off axis 0, one-element operands)."""

import numpy as np
import pytest

import lucid
from lucid.autograd import jacobian

rng = np.random.default_rng(11)


def T(a):
    return lucid.tensor(np.asarray(a, dtype=np.float64))


@pytest.mark.parametrize("shape_a,shape_b,transpose_b", [
    ((1, 300), (300, 257), False),   # one row: row axpys
    ((1, 300), (300, 257), True),    # one row, column-major b: column dots
    ((300, 257), (257, 1), False),   # one column: row dots
    ((3, 300), (300, 300), False),   # few rows: GEMM
    ((17, 300), (300, 300), False),  # GEMM
    ((5, 300), (300, 300), True),    # column-major b: GEMM
    ((4, 2, 300), (300, 300), False),  # a stack of rows times one matrix
    ((200, 300), (300, 64), False),  # shared over the cores in blocks of rows
    ((6, 700), (700, 501), False),   # shared in strips of columns
    ((64, 256), (256, 512), True),   # column-major b, small a: (bᵀ aᵀ)ᵀ, shared
    ((300, 100), (100, 50), True),   # column-major b, small b: b copied
    ((1024, 300), (300, 1), False),  # row dots shared over the cores
    ((1000, 22), (26, 22, 12), False),  # one matrix times a batch, read in place
    ((3, 1, 40, 7), (5, 7, 9), False),  # both batched, broadcast both ways
    ((2, 30, 20), (20, 600), True),     # a batch times one column-major matrix
    ((9, 1, 1, 64), (4, 64, 300), False),  # batches of one row, shared over the cores
])
def test_matmul_paths_match_numpy(shape_a, shape_b, transpose_b):
    a = rng.normal(size=shape_a)
    b = rng.normal(size=shape_b[::-1]).T if transpose_b else rng.normal(size=shape_b)
    tb = T(b.T).T if transpose_b else T(b)
    np.testing.assert_allclose((T(a) @ tb).numpy(), a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_products_of_every_small_shape_and_layout_match_numpy(dtype):
    """Every row block (8, 6, 4, 2 and remainders), masked last columns, empty
    operands and each operand transposed or not: the kernels write every entry of C
    (it is not zeroed first)."""
    tol = 1e-4 if dtype == "float32" else 1e-11
    for m in (0, 1, 2, 3, 5, 7, 8, 9, 13):
        for k in (0, 1, 3, 17, 256):
            for n in (0, 1, 3, 8, 15, 16, 17, 33, 1024):
                a, b = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
                want = a @ b
                for ta in (False, True):
                    for tb in (False, True):
                        la = lucid.tensor(np.ascontiguousarray(a.T)).T if ta else lucid.tensor(a)
                        lb = lucid.tensor(np.ascontiguousarray(b.T)).T if tb else lucid.tensor(b)
                        got = (la @ lb).numpy()
                        assert got.shape == want.shape and got.dtype == want.dtype
                        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
                        assert np.abs(got - want).max(initial=0.0) <= tol * scale, (m, k, n, ta, tb)


def test_wide_mlp_jacobian_matches_closed_form():
    """The wide MLP's cotangent product (8 rows times a 256x1024 weight)."""
    W1 = rng.normal(size=(256, 1024)) * 0.05
    W2 = rng.normal(size=(8, 256))
    x = rng.normal(size=1024)
    J = jacobian(lambda x: T(W2) @ (T(W1) @ x).tanh(), T(x)).numpy()
    h = np.tanh(W1 @ x)
    np.testing.assert_allclose(J, W2 @ ((1 - h ** 2)[:, None] * W1), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("shape_a,shape_b", [
    ((3, 40), (40, 37)),      # few rows, masked last columns
    ((32, 256), (256, 64)),   # the float32 MLP's cotangent product
    ((130, 500), (500, 64)),  # shared over the cores by rows
    ((5, 900), (900, 1000)),  # shared by columns
])
def test_float32_products_match_numpy(shape_a, shape_b):
    a, b = rng.normal(size=shape_a).astype(np.float32), rng.normal(size=shape_b).astype(np.float32)
    got = (lucid.tensor(a) @ lucid.tensor(b)).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-4)


def _tall_mlp():
    W1 = rng.normal(size=(256, 64)) / 8
    W2 = rng.normal(size=(512, 256)) / 16
    x = rng.normal(size=64)
    return W1, W2, x


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_tall_mlp_jacobian_matches_closed_form(strategy):
    """Products large enough to be shared over the cores, in both modes (forward mode
    multiplies by a transposed weight)."""
    W1, W2, x = _tall_mlp()
    J = jacobian(lambda x: T(W2) @ (T(W1) @ x).tanh(), T(x), strategy=strategy).numpy()
    h = np.tanh(W1 @ x)
    np.testing.assert_allclose(J, W2 @ ((1 - h ** 2)[:, None] * W1), rtol=1e-11, atol=1e-12)


_ONE_THREAD = """
import sys, numpy as np, lucid
from lucid.autograd import jacobian
W1, W2, x, a, b, c, d, s, t = (np.load(sys.argv[1])[k] for k in ("W1", "W2", "x", "a", "b", "c", "d", "s", "t"))
f = lambda x: lucid.tensor(W2) @ (lucid.tensor(W1) @ x).tanh()
out = {s: jacobian(f, lucid.tensor(x), strategy=s).numpy() for s in ("reverse-mode", "forward-mode")}
out["ab"] = (lucid.tensor(a) @ lucid.tensor(b)).numpy()
out["cd"] = (lucid.tensor(c) @ lucid.tensor(d)).numpy()
out["stack"] = (lucid.tensor(s) @ lucid.tensor(t)).numpy()
np.savez(sys.argv[2], **{k.replace("-", "_"): v for k, v in out.items()})
"""


def test_results_do_not_depend_on_the_number_of_threads(tmp_path):
    """Shared work gives each thread whole entries of a product, summed in the same
    order: LUCID_NUM_THREADS=1 reproduces the shared results bit for bit."""
    import os
    import subprocess
    import sys
    W1, W2, x = _tall_mlp()
    a, b = rng.normal(size=(300, 200)), rng.normal(size=(200, 64))
    # a B too large for cache: matrixmultiply's packed product, shared by blocks of rows
    c, d = rng.normal(size=(400, 600)), rng.normal(size=(600, 500))
    # a stack of products, shared by products
    sa, sb = rng.normal(size=(6, 100, 300)), rng.normal(size=(6, 300, 200))
    np.savez(tmp_path / "in.npz", W1=W1, W2=W2, x=x, a=a, b=b, c=c, d=d, s=sa, t=sb)
    env = dict(os.environ, LUCID_NUM_THREADS="1")
    subprocess.run([sys.executable, "-c", _ONE_THREAD, str(tmp_path / "in.npz"), str(tmp_path / "out.npz")],
                   env=env, check=True)
    one = np.load(tmp_path / "out.npz")
    f = lambda x: T(W2) @ (T(W1) @ x).tanh()
    for s in ("reverse-mode", "forward-mode"):
        np.testing.assert_array_equal(jacobian(f, T(x), strategy=s).numpy(), one[s.replace("-", "_")])
    np.testing.assert_array_equal((T(a) @ T(b)).numpy(), one["ab"])
    np.testing.assert_array_equal((T(c) @ T(d)).numpy(), one["cd"])
    np.testing.assert_allclose(one["cd"], c @ d, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal((T(sa) @ T(sb)).numpy(), one["stack"])
    np.testing.assert_allclose(one["stack"], sa @ sb, rtol=1e-12, atol=1e-12)


_FORK = """
import multiprocessing, numpy as np, lucid
from lucid.autograd import jacobian
r = np.random.default_rng(5)
W1, W2, x = r.normal(size=(256, 64)) / 8, r.normal(size=(512, 256)) / 16, r.normal(size=64)
f = lambda x: lucid.tensor(W2) @ (lucid.tensor(W1) @ x).tanh()
A = lucid.tensor(r.random((800, 800)))  # a packed product, shared over the pool
def child(queue):
    queue.put((jacobian(f, lucid.tensor(x)).numpy(), (A @ A).numpy()))
if __name__ == "__main__":
    want = jacobian(f, lucid.tensor(x)).numpy(), (A @ A).numpy()  # starts the pool here
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=child, args=(queue,))
    p.start()
    got = queue.get(timeout=60)
    p.join(timeout=60)
    assert p.exitcode == 0, p.exitcode
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
    print("ok")
"""


def test_a_forked_child_computes_without_the_parents_helpers(tmp_path):
    """The helper threads do not survive fork: a child shares nothing and still
    finishes (the pool notices the new process and keeps the work on its thread).
    Run in a fresh interpreter: this one may hold other libraries' threads."""
    import subprocess
    import sys
    script = tmp_path / "fork_child.py"
    script.write_text(_FORK)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("shape_a,shape_b", [
    ((300, 100, 3), (100, 1)), ((300, 100, 3), (1,)), ((), (40, 50)), ((40, 1), (1, 50)), ((7, 1, 5), (1, 6, 1)),
])
def test_broadcast_products_match_numpy(shape_a, shape_b):
    a, b = rng.normal(size=shape_a), rng.normal(size=shape_b)
    np.testing.assert_allclose((T(a) * T(b)).numpy(), a * b, rtol=1e-15)
    np.testing.assert_allclose((T(b) - T(a)).numpy(), b - a, rtol=1e-15)


@pytest.mark.parametrize("shape_a,shape_b", [
    ((64, 256), (256,)), ((64, 256), (64, 256)), ((64, 256), (64, 1)), ((5, 4, 3), (3,)), ((5, 4, 3), (5, 1, 1)),
    ((1, 7), (7,)), ((0, 3), (3,)), ((3, 0), (3, 1)), ((1, 1), (1,)), ((4, 5), ()),
])
def test_elementwise_ops_of_column_major_views_match_numpy(shape_a, shape_b):
    """Column-major operands (transposed views) are combined in their own order."""
    a = rng.normal(size=shape_a[::-1])
    b = rng.normal(size=shape_b[::-1]) if len(shape_b) == len(shape_a) else rng.normal(size=shape_b)
    ta = T(a).permute(*reversed(range(a.ndim)))
    tb = T(b).permute(*reversed(range(b.ndim)))
    na, nb = a.transpose(), b.transpose()
    np.testing.assert_array_equal((ta * tb).numpy(), na * nb)
    np.testing.assert_array_equal((tb - ta).numpy(), nb - na)
    np.testing.assert_array_equal((ta * tb).reshape(-1).numpy(), (na * nb).ravel())


@pytest.mark.parametrize("shape", [(64, 48), (33, 100), (31, 31), (5, 200)])
def test_transposed_views_materialise_in_order(shape):
    a = rng.normal(size=shape)
    t = T(a).T  # a column-major view
    np.testing.assert_array_equal(t.reshape(-1).numpy(), a.T.ravel())
    np.testing.assert_array_equal(np.asarray(t), a.T)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_cat_off_the_first_axis_matches_numpy(dim):
    parts = [rng.normal(size=(3, 4, 5)) for _ in range(3)]
    views = [T(p) for p in parts]
    views[1] = T(np.ascontiguousarray(parts[1].transpose(2, 1, 0))).permute(2, 1, 0)  # a strided part
    np.testing.assert_array_equal(lucid.cat(views, dim).numpy(), np.concatenate(parts, dim))


def test_expand_of_a_column_matches_numpy():
    c = rng.normal(size=(100, 1))
    np.testing.assert_array_equal(T(c).expand(300, 100, 3).numpy(), np.broadcast_to(c, (300, 100, 3)))


def test_forward_mode_result_converts_to_numpy_as_its_values():
    """A forward-mode Jacobian is a transposed view; NumPy gets the right values."""
    x = T(rng.normal(size=50))
    J = jacobian(lambda x: x.sin() * x ** 2, x, strategy="forward-mode", vectorize=True)
    xn = x.numpy()
    np.testing.assert_allclose(np.asarray(J), np.diag(np.cos(xn) * xn ** 2 + 2 * xn * np.sin(xn)), rtol=1e-14)
    assert np.asarray(J).flags["C_CONTIGUOUS"] or np.asarray(J).flags["F_CONTIGUOUS"]


@pytest.mark.parametrize("make,op", [
    (lambda: lucid.ones(10 ** 6, 1) * lucid.ones(1, 10 ** 7), "mul"),
    (lambda: lucid.ones(10 ** 6, 1) + lucid.ones(1, 10 ** 7, dtype=lucid.float64), "add"),
    (lambda: lucid.ones(10 ** 6, 1) @ lucid.ones(1, 10 ** 7), "matmul"),
    (lambda: lucid.ones(1, 1).expand(10 ** 6, 10 ** 7), "expand"),
])
def test_results_too_large_for_memory_raise_instead_of_aborting(make, op):
    """An outer product of two long vectors asks for 40 TB: a ValueError naming the op,
    not a process abort."""
    with pytest.raises(ValueError, match=rf"{op}: cannot allocate \d+ bytes for a result of shape"):
        make()
