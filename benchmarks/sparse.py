"""Sparse Jacobians side by side (issue 14): Lucid's ``sparse=True`` vs asdex, CasADi, SciPy.

Workloads (float64, inputs from the fixed seed of ``workloads.py``):

- W7  1-D stencil ``u[i-1] - 2 u[i] + u[i+1] + u[i]**3``, zero boundary, written with
      slices and ``cat``; n = 10^3 ... 10^6.
- W8  2-D 5-point Laplacian plus ``u**3`` on an N x N grid, zero boundary. The input is
      the flat vector of N*N values (row-major), reshaped to (N, N) inside the function
      and flattened again at the end, so every library returns one (N^2, N^2) matrix.
- W3s, W4s, W5s  the functions of W3, W4 (Jacobians) and W5 (Hessian) of
      ``workloads.py``, through the sparse paths.

Every library differentiates the same expression: Lucid, JAX/asdex and NumPy (SciPy's
finite differences) run the one function written against a small backend ``B``
(``zeros``, ``cat`` and the ops of ``workloads.py``); CasADi gets the same expression
built from SX (``vertcat``/``horzcat``, column-major ``reshape`` taken into account).
Lucid gets W4 as it is (two inputs, two outputs, a tuple of blocks back); the peers get
it as one function of the stacked inputs returning the stacked outputs (the same
matrix).

Each method is a ``SMethod``: ``first()`` makes one cold first call (caches cleared,
pattern detection, colouring, compilation or symbolic build included) and returns the
steady-state callable, which ``timing.measure`` then times (medians of repeated calls).
Results are turned into one ``scipy.sparse.csr_array`` (m, n) and compared with the
reference: the Jacobian written out by hand for W7 and W8 (exact at every size), Lucid's
dense result for W3s/W4s/W5s.

Run through ``bench.py`` (``--sparse`` runs only these); as a child process
``python sparse.py --probe '{...}'`` measures peak memory (see ``probe``).
"""

from __future__ import annotations

import gc
import inspect
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from methods import JaxLib, LucidLib, Unavailable  # noqa: E402
from timing import measure  # noqa: E402
from workloads import SEED, make_case  # noqa: E402

DENSE_LIMIT = 10**8          # m*n above which no dense Jacobian is formed (800 MB float64)
TOL_AD = 1e-9                # max|a - ref| / max|ref| for every AD method
TOL_FD = 1e-5                # SciPy's 2-point differences (truncation error ~1e-8 here)
GiB = 2**30


# --- workloads ----------------------------------------------------------------------------

def _w7(B, c):
    def f(u):
        z = B.zeros((1,))
        left = B.cat([z, u[:-1]], 0)
        right = B.cat([u[1:], z], 0)
        return left - 2 * u + right + u ** 3
    return f


def _w8(B, c):
    N = c["N"]

    def f(u):
        U = B.reshape(u, (N, N))
        zr, zc = B.zeros((1, N)), B.zeros((N, 1))
        up = B.cat([zr, U[:-1]], 0)
        down = B.cat([U[1:], zr], 0)
        left = B.cat([zc, U[:, :-1]], 1)
        right = B.cat([U[:, 1:], zc], 1)
        return B.reshape(up + down + left + right - 4 * U + U ** 3, (N * N,))
    return f


def _w7_casadi(ca, x, c):
    z = ca.SX.zeros(1, 1)
    return ca.vertcat(z, x[:-1]) - 2 * x + ca.vertcat(x[1:], z) + x ** 3


def _w8_casadi(ca, x, c):
    # CasADi's reshape is column-major: U is the transpose of the row-major grid. The
    # 5-point Laplacian and the cubic commute with transposition and the column-major
    # flatten undoes it, so the output has the same (row-major) order as the others.
    N = c["N"]
    U = ca.reshape(x, N, N)
    zr, zc = ca.SX.zeros(1, N), ca.SX.zeros(N, 1)
    up = ca.vertcat(zr, U[:-1, :])
    down = ca.vertcat(U[1:, :], zr)
    left = ca.horzcat(zc, U[:, :-1])
    right = ca.horzcat(U[:, 1:], zc)
    return ca.reshape(up + down + left + right - 4 * U + U ** 3, N * N, 1)


def _w3_casadi(ca, x, c):
    rows = c["rows"]
    X = ca.reshape(x, 3, rows)                  # column i = row i of x.reshape(rows, 3)
    Y = X / ca.repmat(ca.sqrt(ca.sum1(X * X)), 3, 1)
    return ca.reshape(Y, 3 * rows, 1)


def _w4_casadi(ca, x, c):
    n = c["n"]
    a, b = x[:n], x[n:]
    outer = ca.repmat(a, 1, n) * ca.repmat(b.T, n, 1)     # a[:, None] * b[None, :]
    return ca.vertcat(a * b, ca.sum1(outer).T)


def _w5_casadi(ca, x, c):
    return ca.sum1(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _tridiag(n, lower, diag, upper):
    import scipy.sparse as sp
    return sp.diags_array([lower, diag, upper], offsets=[-1, 0, 1], shape=(n, n), format="csr")


def _w7_exact(case):
    u = case.inputs[0]
    n = u.size
    return _tridiag(n, np.ones(n - 1), -2.0 + 3.0 * u ** 2, np.ones(n - 1))


def _w8_exact(case):
    import scipy.sparse as sp
    u, N = case.inputs[0], case.consts["N"]
    n = N * N
    side = np.ones(n - 1)
    side[np.arange(1, N) * N - 1] = 0.0          # no neighbour across a row's end
    return sp.diags_array([np.ones(n - N), side, -4.0 + 3.0 * u ** 2, side, np.ones(n - N)],
                          offsets=[-N, -1, 0, 1, N], shape=(n, n), format="csr")


def _w5_exact(case):
    # Rosenbrock sum: H = tridiagonal (the well-known closed form)
    x = case.inputs[0]
    n = x.size
    d = np.zeros(n)
    d[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    d[1:] += 200.0
    off = -400.0 * x[:-1]
    return _tridiag(n, off, d, off)


@dataclass
class SparseCase:
    params: dict
    title: str
    short: str
    kind: str                     # "jacobian" or "hessian"
    inputs: list                  # NumPy arrays (Lucid gets them as they are)
    consts: dict
    build: object                 # build(B, consts) -> f(*inputs), as in workloads.py
    casadi: object                # casadi(ca, x_sym, consts) -> SX expression of the stacked x
    in_tuple: bool
    out_tuple: bool
    out_sizes: list
    exact: object = None          # case -> csr_array, the Jacobian written out by hand
    description: str = ""
    notes: list = field(default_factory=list)

    @property
    def in_sizes(self):
        return [int(a.size) for a in self.inputs]

    @property
    def n(self):
        return sum(self.in_sizes)

    @property
    def m(self):
        return self.n if self.kind == "hessian" else int(sum(self.out_sizes))

    @property
    def dense_ok(self):
        return self.m * self.n <= DENSE_LIMIT

    @property
    def x0(self):
        """The stacked input vector (what the peers differentiate)."""
        return np.concatenate([a.ravel() for a in self.inputs])

    def flat(self, B):
        """The function of the stacked input returning the stacked outputs (peers)."""
        f = self.build(B, self.consts)
        sizes, shapes = self.in_sizes, [a.shape for a in self.inputs]
        cuts = np.cumsum([0] + sizes)

        def g(x):
            if len(sizes) == 1 and len(shapes[0]) == 1:
                args = [x]
            else:
                args = [B.reshape(x[cuts[i]:cuts[i + 1]], shapes[i]) if len(shapes[i]) != 1
                        else x[cuts[i]:cuts[i + 1]] for i in range(len(sizes))]
            out = f(*args)
            if self.kind == "hessian":
                return out
            outs = out if self.out_tuple else (out,)
            flat = [B.reshape(o, (-1,)) for o in outs]
            return flat[0] if len(flat) == 1 else B.cat(flat, 0)
        return g


def make_sparse_case(params):
    p = dict(params)
    wid = p["wid"]
    if wid == "W7":
        n = int(p["n"])
        c = SparseCase(p, f"W7 n={n}", f"n={n}", "jacobian", [], {}, _w7, _w7_casadi, False, False,
                       [n], _w7_exact, "1-D stencil u[i-1] - 2u[i] + u[i+1] + u[i]**3, zero "
                       "boundary, slices and cat")
        c.inputs = [np.random.default_rng([SEED, 7, n]).uniform(-1.0, 1.0, n)]
    elif wid == "W8":
        N = int(p["N"])
        c = SparseCase(p, f"W8 {N}x{N}", f"{N}x{N}", "jacobian", [], {"N": N}, _w8, _w8_casadi,
                       False, False, [N * N], _w8_exact,
                       "2-D 5-point Laplacian + u**3, zero boundary, flat input of N*N reshaped")
        c.inputs = [np.random.default_rng([SEED, 8, N]).uniform(-1.0, 1.0, N * N)]
    elif wid in ("W3s", "W4s", "W5s"):
        dense = make_case(dict(p, wid=wid[:2]))
        cas = {"W3s": _w3_casadi, "W4s": _w4_casadi, "W5s": _w5_casadi}[wid]
        # the same inputs as the dense W3/W4/W5; CasADi's builders read the sizes from consts
        consts = dict(dense.consts, rows=int(p.get("rows", 100)), n=int(p.get("n", 50)))
        short = {"W3s": f"n=m={dense.n}", "W4s": f"2x{dense.in_sizes[0]}",
                 "W5s": f"hess n={dense.n}"}[wid]
        c = SparseCase(p, f"{wid} {short}", short, dense.kind, dense.inputs, consts, dense.build,
                       cas, dense.in_tuple, dense.out_tuple, dense.out_sizes,
                       _w5_exact if wid == "W5s" else None,
                       dense.description + (" (Hessian, star colouring)" if wid == "W5s" else ""))
    else:
        raise ValueError(f"unknown sparse workload {wid!r}")
    return c


def sparse_cases(mode):
    """smoke: one tiny W7; quick: one size each; full: the sizes of issue 14."""
    if mode == "smoke":
        params = [{"wid": "W7", "n": 100}]
    elif mode == "quick":
        params = [{"wid": "W7", "n": 10**4}, {"wid": "W8", "N": 100},
                  {"wid": "W3s", "rows": 100}, {"wid": "W4s", "n": 50}, {"wid": "W5s", "n": 100}]
    else:
        params = ([{"wid": "W7", "n": n} for n in (10**3, 10**4, 10**5, 10**6)]
                  + [{"wid": "W8", "N": N} for N in (100, 1000)]
                  + [{"wid": "W3s", "rows": 100}, {"wid": "W4s", "n": 50}, {"wid": "W5s", "n": 100}])
    return [make_sparse_case(p) for p in params]


def memory_cases(mode):
    """Where peak memory is measured (child processes): the issue's large cases, and
    W7 n=10^4 for the first call in a fresh process."""
    if mode == "smoke":
        return [{"wid": "W7", "n": 100}]
    if mode == "quick":
        return [{"wid": "W7", "n": 10**4}]
    return [{"wid": "W7", "n": 10**4}, {"wid": "W7", "n": 10**6}, {"wid": "W8", "N": 1000}]


# --- conversions ----------------------------------------------------------------------------

def to_csr(a, shape=None):
    import scipy.sparse as sp
    if sp.issparse(a):
        return sp.csr_array(a)
    a = np.asarray(a)
    if shape is not None:
        a = a.reshape(shape)
    return sp.csr_array(a)


def bcoo_to_csr(J, shape):
    """asdex's BCOO (m, n) to a csr_array (the peers see flat inputs and outputs)."""
    import scipy.sparse as sp
    if tuple(J.shape) != tuple(shape):
        raise ValueError(f"asdex returned shape {J.shape}, expected {shape}")
    idx = np.asarray(J.indices)
    return sp.csr_array(sp.coo_array((np.asarray(J.data), (idx[:, 0], idx[:, 1])), shape=shape))


def rel_err(a, ref):
    """max |a - ref| / max |ref| (sparse: over the union of the stored entries)."""
    if a.shape != ref.shape:
        return math.inf, f"shape {a.shape}, reference {ref.shape}"
    d = (a - ref)
    dmax = float(np.max(np.abs(d.data))) if d.nnz else 0.0
    scale = max(float(np.max(np.abs(ref.data))) if ref.nnz else 0.0, 1e-300)
    if not math.isfinite(dmax):
        return math.inf, "non-finite values"
    return dmax / scale, ""


# --- methods ------------------------------------------------------------------------------

@dataclass
class SMethod:
    row: str
    library: str
    kind: str                       # "sparse", "dense" or "fd" (non-AD)
    first: object                   # () -> steady callable; makes the cold first call
    convert: object                 # result -> csr_array (m, n)
    api: str = ""
    main: bool = False              # the library's row in the ratio table
    colors: object = None           # () -> (count, direction) or None
    note: str = ""
    unsupported: str = ""


def _timed_first(build):
    """Wrap ``build() -> call`` so that ``first()`` returns (seconds, result, call)."""
    def first():
        t0 = time.perf_counter()
        call = build()
        res = call()
        return time.perf_counter() - t0, res, call
    return first


class LucidSparse:
    name = "lucid"

    def setup(self):
        base = LucidLib()
        base.setup()
        L = self.lucid = base.lucid
        self.ag = base.ag
        self.version = base.version
        self.jac_params = base.jac_params
        self.hess_params = base.hess_params
        self.has_sparse = "sparse" in self.jac_params
        self.has_hess_sparse = "sparse" in self.hess_params
        self.clear = next((getattr(mod, "sparsity_cache_clear") for mod in
                           (self.ag, getattr(self.ag, "functional", None), L)
                           if mod is not None and hasattr(mod, "sparsity_cache_clear")), None)
        self.sparsity = getattr(self.ag, "sparsity", None)

        class B(base.B):
            @staticmethod
            def zeros(shape):
                return L.zeros(*shape, dtype=L.float64)

            @staticmethod
            def cat(xs, axis):
                return L.cat(list(xs), dim=axis)
        self.B = B

    def notes(self):
        out = []
        if not self.has_sparse:
            out.append("lucid: jacobian has no `sparse` parameter yet: its sparse rows are n/a and "
                       "the ratios use Lucid's dense jacobian as a stand-in where it fits")
        elif self.clear is None:
            out.append("lucid: no sparsity_cache_clear(): the in-process first call is not cold; "
                       "see the fresh-process first call in the memory table")
        return out

    def methods(self, case):
        L = self.lucid
        xs = [L.tensor(a) for a in case.inputs]
        f = case.build(self.B, case.consts)
        inp = tuple(xs) if case.in_tuple else xs[0]
        hess = case.kind == "hessian"
        fn = self.ag.hessian if hess else self.ag.jacobian
        fname = f"lucid.autograd.{case.kind}"
        shape = (case.m, case.n)

        def conv_sparse(res):
            import scipy.sparse as sp
            if isinstance(res, tuple):
                if hess:   # nested tuple for tuple inputs
                    return sp.csr_array(sp.block_array([[to_csr(b) for b in r] for r in res]))
                return sp.csr_array(sp.hstack([to_csr(b) for b in res]))
            return to_csr(res)

        def conv_dense(res):
            blocks = res if isinstance(res, tuple) else (res,)
            return to_csr(np.hstack([np.asarray(b.numpy()).reshape(case.m, -1) for b in blocks]),
                          shape)

        def colors():
            if self.sparsity is None:
                return None
            s = self.sparsity(f, inp, hessian=True) if hess else self.sparsity(f, inp)
            return int(s.colors), str(s.direction)

        out = []
        sparse_ok = self.has_hess_sparse if hess else self.has_sparse
        modes = [("lucid sparse (default)", {"sparse": True}, True)]
        if not hess:
            modes += [("lucid sparse fwd", {"sparse": True, "strategy": "forward-mode"}, False),
                      ("lucid sparse rev", {"sparse": True, "strategy": "reverse-mode"}, False)]
        for row, kw, main in modes:
            def build(kw=kw):
                if self.clear is not None:
                    self.clear()
                return lambda: fn(f, inp, **kw)
            api = f"{fname}(f, x, " + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")"
            m = SMethod(row, "lucid", "sparse", _timed_first(build), conv_sparse, api, main,
                        colors if main else None)
            if not sparse_ok:
                m.unsupported = f"{case.kind} has no `sparse` parameter yet"
            out.append(m)
        kw = {"vectorize": True}
        api = f"{fname}(f, x, vectorize=True)  (dense)"
        m = SMethod("lucid dense", "lucid", "dense", _timed_first(lambda: lambda: fn(f, inp, **kw)),
                    conv_dense, api, main=not sparse_ok)
        if not case.dense_ok:
            m.unsupported = f"dense J would be {case.m * case.n * 8 / GiB:.1f} GiB"
        out.append(m)
        return out


class _JaxBase:
    def _setup_jax(self):
        base = JaxLib()
        base.setup()
        self.jax, self.jnp, self.base = base.jax, base.jnp, base
        jnp = self.jnp

        class B(base.B):
            @staticmethod
            def zeros(shape):
                return jnp.zeros(shape, dtype=jnp.float64)

            @staticmethod
            def cat(xs, axis):
                return jnp.concatenate(list(xs), axis=axis)
        self.B = B


class JaxDense(_JaxBase):
    name = "jax"

    def setup(self):
        self._setup_jax()
        self.version = self.jax.__version__

    def methods(self, case):
        jax, jnp = self.jax, self.jnp
        g = case.flat(self.B)
        x = jnp.asarray(case.x0)
        hess = case.kind == "hessian"
        make = (lambda: jax.hessian(g)) if hess else (lambda: jax.jacfwd(g))

        def build():
            self.base.clear_caches()
            h = jax.jit(make())
            return lambda: jax.block_until_ready(h(x))
        api = "jax.jit(jax.hessian(f))(x)" if hess else "jax.jit(jax.jacfwd(f))(x)  (dense)"
        m = SMethod("jax jit jacfwd (dense)", "jax", "dense", _timed_first(build),
                    lambda r: to_csr(np.asarray(r), (case.m, case.n)), api, main=True)
        if not case.dense_ok:
            m.unsupported = f"dense J would be {case.m * case.n * 8 / GiB:.1f} GiB"
        return [m]


class AsdexLib(_JaxBase):
    name = "asdex"

    def setup(self):
        try:
            import asdex
        except ImportError as e:
            raise Unavailable(f"asdex not importable ({e}); its rows are skipped "
                              "(`make bench` installs it)")
        self._setup_jax()
        self.asdex = asdex
        try:
            from importlib.metadata import version
            self.version = version("asdex")
        except Exception:  # noqa: BLE001
            self.version = "?"

    def methods(self, case):
        jax, jnp, asdex = self.jax, self.jnp, self.asdex
        g = case.flat(self.B)
        x = jnp.asarray(case.x0)
        hess = case.kind == "hessian"
        shape = (case.m, case.n)
        state = {}

        def build():
            self.base.clear_caches()
            if hess:
                col = asdex.hessian_coloring(g, x)
                h = jax.jit(asdex.hessian_from_coloring(g, col))
            else:
                col = asdex.jacobian_coloring(g, x)
                h = jax.jit(asdex.jacobian_from_coloring(g, col))
            state["coloring"] = col
            return lambda: jax.block_until_ready(h(x))

        def build_csr():
            call = build()
            return lambda: bcoo_to_csr(call(), shape)

        def colors():
            col = state.get("coloring")
            return None if col is None else (int(col.num_colors), str(col.mode))

        what = "hessian" if hess else "jacobian"
        api = (f"jax.jit(asdex.{what}_from_coloring(f, asdex.{what}_coloring(f, x)))(x) -> BCOO; "
               "1st call: detection + colouring + trace + compile + run")
        return [
            SMethod("asdex jit (BCOO)", "asdex", "sparse", _timed_first(build),
                    lambda r: bcoo_to_csr(r, shape), api, main=True, colors=colors),
            SMethod("asdex jit + to csr", "asdex", "sparse", _timed_first(build_csr), to_csr,
                    api + ", then BCOO -> scipy csr_array (Lucid's result type)"),
        ]


class CasadiLib:
    name = "casadi"

    def setup(self):
        try:
            import casadi
        except ImportError as e:
            raise Unavailable(f"CasADi not importable ({e}); its rows are skipped "
                              "(`make bench` installs it)")
        self.ca = casadi
        self.version = casadi.__version__

    def _build(self, case):
        ca = self.ca
        x = ca.SX.sym("x", case.n)
        e = case.casadi(ca, x, case.consts)
        J = ca.hessian(e, x)[0] if case.kind == "hessian" else ca.jacobian(e, x)
        return ca.Function("J", [x], [J])

    def methods(self, case):
        import scipy.sparse as sp
        x0 = np.ascontiguousarray(case.x0)
        shape = (case.m, case.n)
        state = {}

        def pattern(Jf):
            s = Jf.sparsity_out(0)
            return np.asarray(s.colind(), dtype=np.int64), np.asarray(s.row(), dtype=np.int64)

        def build_call():
            Jf = self._build(case)
            state["pattern"] = pattern(Jf)
            return lambda: Jf(x0)

        def build_buffer():
            Jf = self._build(case)
            state["pattern"] = pattern(Jf)
            out = np.zeros(Jf.nnz_out(0))
            buf, trigger = Jf.buffer()
            buf.set_arg(0, memoryview(x0))
            buf.set_res(0, memoryview(out))
            state["keep"] = (buf, x0)

            def call():
                trigger()
                return out
            return call

        def from_nonzeros(nz):
            colind, row = state["pattern"]
            return sp.csr_array(sp.csc_array((np.array(nz, dtype=np.float64).ravel(), row, colind),
                                             shape=shape))

        what = "hessian(e, x)[0]" if case.kind == "hessian" else "jacobian(e, x)"
        build_api = f"SX.sym + the expression + casadi.{what} + casadi.Function"
        return [
            SMethod("casadi call (DM)", "casadi", "sparse", _timed_first(build_call),
                    lambda r: from_nonzeros(r.nonzeros()),
                    f"Jf(x) -> casadi.DM (its sparse matrix; no conversion timed). 1st call: "
                    f"{build_api} + the first Jf(x)", main=True),
            SMethod("casadi buffer (VM)", "casadi", "sparse", _timed_first(build_buffer),
                    from_nonzeros,
                    "buf, trigger = Jf.buffer(); set_arg/set_res with memoryviews; trigger() "
                    "writes the nonzeros (CCS order) into a preallocated array"),
        ]


class ScipyFD:
    name = "scipy"

    def setup(self):
        try:
            import scipy
            from scipy.optimize._numdiff import approx_derivative, group_columns
        except ImportError as e:
            raise Unavailable(f"SciPy's approx_derivative not importable ({e}); its rows are skipped")
        self.approx, self.group = approx_derivative, group_columns
        self.version = scipy.__version__

        class B:
            sin, tanh, sqrt, reshape = np.sin, np.tanh, np.sqrt, np.reshape

            @staticmethod
            def sum(x, axis, keepdims):
                return np.sum(x, axis=axis, keepdims=keepdims)

            @staticmethod
            def zeros(shape):
                return np.zeros(shape)

            @staticmethod
            def cat(xs, axis):
                return np.concatenate(list(xs), axis=axis)
        self.B = B

    def methods(self, case, pattern=None):
        g = case.flat(self.B)
        x0 = case.x0.copy()
        state = {}
        m = SMethod("scipy FD 2-point", "scipy", "fd", None, to_csr,
                    "scipy.optimize._numdiff.approx_derivative(f, x, method='2-point', "
                    "sparsity=(pattern, groups)); 1st call includes group_columns(pattern); "
                    "the pattern is the reference's", main=True,
                    colors=lambda: (int(state["groups"].max()) + 1, "groups") if "groups" in state else None)
        if case.kind == "hessian":
            m.unsupported = "finite differences of a gradient need a gradient (no AD in SciPy)"
            return [m]

        def build():
            P = state["pattern"] = pattern() if callable(pattern) else pattern
            groups = state["groups"] = self.group(P)
            return lambda: self.approx(g, x0, method="2-point", sparsity=(P, groups))
        m.first = _timed_first(build)
        if pattern is None:
            m.unsupported = "no reference pattern"
        return [m]


SPARSE_LIBRARIES = {"lucid": LucidSparse, "asdex": AsdexLib, "casadi": CasadiLib,
                    "jax": JaxDense, "scipy": ScipyFD}

ROW_ORDER = ["lucid sparse (default)", "lucid sparse fwd", "lucid sparse rev", "lucid dense",
             "asdex jit (BCOO)", "asdex jit + to csr", "casadi call (DM)", "casadi buffer (VM)",
             "jax jit jacfwd (dense)", "scipy FD 2-point"]


def setup_libraries(names, notes):
    libs = []
    for name in ["lucid"] + [n for n in names if n != "lucid" and n in SPARSE_LIBRARIES]:
        lib = SPARSE_LIBRARIES[name]()
        try:
            lib.setup()
        except Unavailable as e:
            notes.append(f"{name}: {e}")
            continue
        libs.append(lib)
        if hasattr(lib, "notes"):
            notes.extend(lib.notes())
    return libs


def _methods(lib, case, reference):
    if isinstance(lib, ScipyFD):
        # SciPy is given the structure (the reference's nonzeros); it colours it itself
        return lib.methods(case, pattern=None if reference is None else
                           (lambda: (reference() != 0).astype(np.float64)))
    return lib.methods(case)


# --- running --------------------------------------------------------------------------------

def run_case(case, libs, cfg, log):
    """Cold first calls, steady-state timing and agreement of every method on ``case``."""
    rec = {"title": case.title, "short": case.short, "wid": case.params["wid"],
           "params": case.params, "kind": case.kind, "m": case.m, "n": case.n,
           "description": case.description, "methods": []}
    t0 = time.perf_counter()
    ref, ref_src = None, ""
    if case.exact is not None:
        ref, ref_src = case.exact(case), "the Jacobian written out by hand"
    if ref is None and case.dense_ok:
        m = next(m for m in libs[0].methods(case) if m.row == "lucid dense")
        _, res, _ = m.first()
        ref, ref_src = m.convert(res), "Lucid's dense result"
        del res
    rec["reference"] = ref_src or "none (compared with each other only)"
    rec["ref_nnz"] = int(ref.nnz) if ref is not None else None
    holder = {"ref": ref}
    for lib in libs:
        try:
            methods = _methods(lib, case, (lambda: holder["ref"]) if ref is not None else None)
        except Exception as e:  # noqa: BLE001
            rec["methods"].append({"row": f"{lib.name} (set-up)", "library": lib.name,
                                   "status": "error", "note": f"{type(e).__name__}: {e}"})
            log(f"  !! {lib.name} set-up failed on {case.title}: {e}")
            continue
        for m in methods:
            e = {"row": m.row, "library": m.library, "kind": m.kind, "api": m.api, "main": m.main}
            rec["methods"].append(e)
            if m.unsupported:
                e.update(status="unsupported", note=m.unsupported)
                continue
            try:
                firsts, last = [], None
                for _ in range(cfg["first_repeats"]):
                    last = None
                    gc.collect()
                    t, res, call = m.first()
                    firsts.append(t)
                    last, res = (t, res), None
                    if t > 1.0:     # a slow cold path is measured once
                        break
                timing, res = measure(call, cfg["budget"], cfg["min_samples"], first=last)
                csr = m.convert(res)
                del res, last
                if m.colors is not None:
                    cl = m.colors()
                    if cl is not None:
                        e["colors"], e["direction"] = cl
            except Exception as ex:  # noqa: BLE001
                e.update(status="error", note=f"{type(ex).__name__}: {ex}")
                log(f"  !! {m.row} FAILED on {case.title}: {type(ex).__name__}: {ex}")
                continue
            e.update(status="ok", first_call=float(np.median(firsts)), first_call_samples=firsts,
                     **timing.to_json())
            e["median_ms"] = timing.median * 1e3
            e["nnz"] = int(csr.nnz)
            e["dtype"] = str(csr.dtype)
            if ref is None:
                holder["ref"] = ref = csr
                rec["reference"] = f"{m.row} (first result; no independent reference)"
            err, why = rel_err(csr, ref)
            tol = TOL_FD if m.kind == "fd" else TOL_AD
            e["max_rel_err"] = err if math.isfinite(err) else None
            e["tol"] = tol
            e["agrees"] = err <= tol and e["dtype"] == "float64"
            if not e["agrees"]:
                e["note"] = (why + "; " if why else "") + f"max rel err {err:.3g} > tol {tol:g}" + (
                    f"; dtype {e['dtype']}" if e["dtype"] != "float64" else "")
                log(f"  !! {m.row} DISAGREES on {case.title}: {e['note']}")
            del csr
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    rec["ratios"] = ratios(rec)
    return rec


def lucid_main(rec):
    """Lucid's row for the ratios: the default sparse call, else the dense stand-in."""
    ok = {e["row"]: e for e in rec["methods"] if e.get("status") == "ok" and e.get("agrees")}
    if "lucid sparse (default)" in ok:
        return ok["lucid sparse (default)"], False
    if "lucid dense" in ok:
        return ok["lucid dense"], True
    return None, False


def ratios(rec):
    """Lucid time / peer time per peer row (steady state and first call): < 1 = Lucid faster."""
    lu, standin = lucid_main(rec)
    out = {"lucid_row": lu and lu["row"], "stand_in": standin, "peers": {}}
    if lu is None:
        return out
    for e in rec["methods"]:
        if e["library"] == "lucid" or e.get("status") != "ok" or not e.get("agrees"):
            continue
        out["peers"][e["row"]] = {
            "steady": lu["median"] / e["median"],
            "first": lu["first_call"] / e["first_call"],
        }
    return out


# --- memory (child processes) -------------------------------------------------------------

def _status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found")


def probe(spec):
    """Child: set up one library, build the case, then the cold first call of the
    library's main row and one repeat call; report time and resident-set peaks."""
    from memprobe import _reset_hwm
    case = make_sparse_case(spec["case"])
    lib = SPARSE_LIBRARIES[spec["library"]]()
    lib.setup()
    ref = case.exact(case) if case.exact is not None else None
    methods = _methods(lib, case, (lambda: ref) if ref is not None else None)
    m = next((m for m in methods if m.row == spec["row"]), None)
    if m is None or m.unsupported:
        return {"error": f"no method {spec['row']!r} here" + (f": {m.unsupported}" if m else "")}
    gc.collect()
    out = {"hwm_setup_kb": _status_kb("VmHWM"), "rss_setup_kb": _status_kb("VmRSS")}
    t, res, call = m.first()
    out["first_s"] = t
    out["hwm_first_kb"] = _status_kb("VmHWM")
    del res
    gc.collect()
    if _reset_hwm():
        rss0 = _status_kb("VmRSS")
        t0 = time.perf_counter()
        res = call()
        out["repeat_s"] = time.perf_counter() - t0
        out["repeat_peak_kb"] = _status_kb("VmHWM") - rss0
        del res
    return out


def run_probe(spec, timeout=600):
    env = dict(os.environ)
    env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    env["MALLOC_TRIM_THRESHOLD_"] = "131072"
    env.setdefault("JAX_PLATFORMS", "cpu")
    try:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--probe", json.dumps(spec)],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"child timed out after {timeout} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"child exited {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


MEMORY_ROWS = [("lucid", "lucid sparse (default)"), ("asdex", "asdex jit (BCOO)"),
               ("casadi", "casadi call (DM)"), ("scipy", "scipy FD 2-point")]


def run_memory(mode, libs, log, keep=lambda wid: True):
    have = {lib.name for lib in libs}
    lucid = next(lib for lib in libs if lib.name == "lucid")
    rows = list(MEMORY_ROWS) if lucid.has_sparse else [("lucid", "lucid dense")] + MEMORY_ROWS[1:]
    if mode == "smoke":
        rows = rows[:1]
    out = []
    for params in memory_cases(mode):
        if not keep(params["wid"]):
            continue
        case = make_sparse_case(params)
        entry = {"title": case.title, "params": params, "m": case.m, "n": case.n, "rows": {}}
        for lib_name, row in rows:
            if lib_name not in have:
                continue
            if row == "lucid dense" and not case.dense_ok:
                continue
            res = run_probe({"case": params, "library": lib_name, "row": row})
            if "error" not in res:
                res = {"peak_rss_mib": res["hwm_first_kb"] / 1024,
                       "setup_rss_mib": res["hwm_setup_kb"] / 1024,
                       "first_call_mib": (res["hwm_first_kb"] - res["hwm_setup_kb"]) / 1024,
                       "first_call_s": res["first_s"],
                       "repeat_call_mib": res.get("repeat_peak_kb", 0) / 1024 if "repeat_peak_kb" in res else None,
                       "repeat_call_s": res.get("repeat_s")}
            else:
                log(f"  !! sparse memory probe {row} on {case.title}: {res['error']}")
            entry["rows"][row] = res
        out.append(entry)
        log(f"  memory {case.title}: " + ", ".join(
            f"{r}={v.get('peak_rss_mib', float('nan')):.0f} MiB peak" for r, v in entry["rows"].items()))
    return out


def run(mode, cfg, names, log, keep=lambda wid: True, memory=True):
    """The whole sparse part: cases, memory probes, targets; returns the JSON record."""
    notes = []
    t0 = time.perf_counter()
    libs = setup_libraries(names, notes)
    for n in notes:
        log(f"  note: {n}")
    out = {"notes": notes, "mode": mode,
           "libraries": {lib.name: getattr(lib, "version", "?") for lib in libs},
           "lucid_has_sparse": libs[0].has_sparse,
           "lucid_has_cache_clear": libs[0].clear is not None,
           "config": cfg, "cases": [], "memory": []}
    for case in sparse_cases(mode):
        if not keep(case.params["wid"]):
            continue
        t1 = time.perf_counter()
        out["cases"].append(run_case(case, libs, cfg, log))
        log(f"  {case.title}: done in {time.perf_counter() - t1:.1f}s")
        gc.collect()
    if memory:
        log("\n== sparse: peak memory and fresh-process first call (child processes) ==")
        out["memory"] = run_memory(mode, libs, log, keep)
    out["targets"] = targets(out)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


# --- issue 14's targets ---------------------------------------------------------------------

def _find(results, wid, key, value):
    return next((r for r in results["cases"] if r["wid"] == wid and r["params"].get(key) == value), None)


def _row(rec, row):
    if rec is None:
        return None
    return next((e for e in rec["methods"] if e["row"] == row and e.get("status") == "ok"
                 and e.get("agrees")), None)


def targets(results):
    """Issue 14's targets: (what, measured text, met True/False/None)."""
    out = []

    def ratio_target(wid, n, peer, what, limit, key="median", extra=None):
        rec = _find(results, wid, "n", n)
        lu, standin = lucid_main(rec) if rec else (None, False)
        pe = _row(rec, peer)
        if lu is None or pe is None:
            out.append({"target": what, "measured": "not measured", "met": None})
            return
        r = lu[key] / pe[key]
        txt = f"{r:.3g}x ({_fmt(lu[key])} vs {_fmt(pe[key])})" + (" [dense stand-in]" if standin else "")
        met = r <= limit
        if extra is not None:
            met = met and lu[key] <= extra
        out.append({"target": what, "measured": txt, "met": met, "stand_in": standin})

    ratio_target("W7", 10**4, "asdex jit (BCOO)", "W7 n=10^4: Lucid steady <= 0.75x asdex steady", 0.75)
    ratio_target("W7", 10**4, "casadi call (DM)", "W7 n=10^4: Lucid steady < CasADi ordinary call", 1.0)
    ratio_target("W7", 10**3, "casadi buffer (VM)", "W7 n=10^3: Lucid steady <= CasADi buffer call (VM)", 1.0)
    ratio_target("W7", 10**4, "casadi call (DM)",
                 "W7 n=10^4 first call: <= 0.1x CasADi build + first call", 0.1, key="first_call")
    ratio_target("W7", 10**4, "asdex jit (BCOO)",
                 "W7 n=10^4 first call: <= 0.02x asdex first call and < 10 ms", 0.02,
                 key="first_call", extra=0.010)
    for wid, key, val, label in (("W7", "n", 10**6, "W7 n=10^6"), ("W8", "N", 1000, "W8 1000x1000")):
        rec = _find(results, wid, key, val)
        lu, standin = lucid_main(rec) if rec else (None, False)
        mem = next((m for m in results.get("memory", []) if m["params"].get(key) == val
                    and m["params"]["wid"] == wid), None)
        mrow = None
        if mem:
            mrow = next((v for r, v in mem["rows"].items() if r.startswith("lucid") and "error" not in v), None)
        if lu is None and mrow is None:
            out.append({"target": f"{label}: Lucid peak RSS < 1 GiB, about a second",
                        "measured": "not measured", "met": None})
            continue
        parts, met = [], True
        if mrow:
            parts.append(f"peak RSS {mrow['peak_rss_mib']:.0f} MiB, fresh-process 1st call "
                         f"{_fmt(mrow['first_call_s'])}")
            met = met and mrow["peak_rss_mib"] < 1024
        if lu:
            parts.append(f"steady {_fmt(lu['median'])}, 1st call {_fmt(lu['first_call'])}")
            met = met and lu["median"] <= 1.5
        out.append({"target": f"{label}: Lucid peak RSS < 1 GiB, about a second (steady <= 1.5 s)",
                    "measured": "; ".join(parts), "met": met if (mrow and lu) else None})
    return out


def problems(sparse):
    out = []
    for rec in sparse.get("cases", []):
        for e in rec["methods"]:
            if e.get("status") == "error":
                out.append(f"sparse {rec['title']}: {e['row']} failed: {e.get('note')}")
            elif e.get("status") == "ok" and not e.get("agrees"):
                out.append(f"sparse {rec['title']}: {e['row']} DISAGREES: {e.get('note')}")
    for m in sparse.get("memory", []):
        for row, v in m["rows"].items():
            if "error" in v:
                out.append(f"sparse memory {m['title']}: {row}: {v['error']}")
    return out


# --- markdown -------------------------------------------------------------------------------

def _fmt(s):
    if s is None or not math.isfinite(s):
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.3g} µs"
    if s < 1.0:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


WORKLOAD_TITLES = {
    "W7": "W7: 1-D stencil `u[i-1] - 2u[i] + u[i+1] + u[i]**3`, zero boundary (slices + cat)",
    "W8": "W8: 2-D 5-point Laplacian + `u**3` on N x N, zero boundary (flat input of N*N)",
    "W3s": "W3s: rows of `x.reshape(100, 3)` normalised (sparse Jacobian)",
    "W4s": "W4s: `(a*b, (a[:,None]*b[None,:]).sum(0))`, two inputs and outputs (sparse Jacobian)",
    "W5s": "W5s: Hessian of the Rosenbrock sum (sparse=True, star colouring)",
}


def _cell(e):
    if e is None:
        return ""
    st = e.get("status")
    if st == "unsupported":
        return "n/a"
    if st == "error":
        return "ERROR"
    iqr = 100 * e["iqr"] / e["median"] if e.get("median") else 0
    return f"{_fmt(e['median'])} ±{iqr:.0f}%" + ("" if e.get("agrees") else " !!")


def render(sparse):
    lines = ["## Sparse Jacobians (issue 14)", ""]
    lines.append("Libraries: " + ", ".join(f"{k} {v}" for k, v in sparse["libraries"].items()))
    lines += [f"- note: {n}" for n in sparse.get("notes", [])]
    lines.append("")
    lines.append("Cells: median per call ± IQR as % of the median (steady state, repeated calls); "
                 "'1st call' rows: a cold call (caches cleared; detection, colouring, "
                 "compilation or symbolic build included), median of the repeats. "
                 "'!!' = disagrees with the reference; 'n/a' = not offered or would not fit.")
    groups = {}
    for rec in sparse["cases"]:
        groups.setdefault(rec["wid"], []).append(rec)
    for wid, recs in groups.items():
        labels = [r["short"] for r in recs]
        rows = []
        for r in recs:
            rows += [e["row"] for e in r["methods"] if e["row"] not in rows]
        rows = [r for r in ROW_ORDER if r in rows] + [r for r in rows if r not in ROW_ORDER]
        head = "| method | " + " | ".join(labels) + " |"
        sep = "|---|" + "---:|" * len(labels)
        lines += ["", f"### {WORKLOAD_TITLES.get(wid, wid)}", "", head, sep]

        def get(rec, row):
            return next((e for e in rec["methods"] if e["row"] == row), None)
        for row in rows:
            lines.append(f"| {row} | " + " | ".join(_cell(get(r, row)) for r in recs) + " |")
        for row in rows:
            cells = []
            for r in recs:
                e = get(r, row)
                cells.append(_fmt(e.get("first_call")) if e and e.get("status") == "ok" else "")
            if any(cells):
                lines.append(f"| {row}: 1st call | " + " | ".join(cells) + " |")
        for row in rows:
            cells = []
            for r in recs:
                e = get(r, row)
                cells.append(f"{e['colors']} {e.get('direction', '')}".strip()
                             if e and e.get("colors") is not None else "")
            if any(cells):
                lines.append(f"| colours: {row} | " + " | ".join(cells) + " |")
        lines.append("| nnz (reference) | " + " | ".join(str(r.get("ref_nnz") or "-") for r in recs) + " |")
        lines.append("| max rel err (worst AD method) | " + " | ".join(
            f"{max([e['max_rel_err'] for e in r['methods'] if e.get('status') == 'ok' and e.get('kind') != 'fd' and e.get('max_rel_err') is not None] or [0]):.0e}"
            for r in recs) + " |")
        # ratios
        peers = []
        for r in recs:
            peers += [p for p in r["ratios"]["peers"] if p not in peers]
        if peers:
            lu_rows = sorted({(r["ratios"]["lucid_row"] or "-") + (" [stand-in]" if r["ratios"]["stand_in"] else "")
                              for r in recs})
            lines += ["", f"Lucid / peer (time ratio, < 1 = Lucid faster; Lucid row: {', '.join(lu_rows)}):", "",
                      "| ratio | " + " | ".join(labels) + " |", sep]
            for p in peers:
                cells = [f"{r['ratios']['peers'][p]['steady']:.3g}" if p in r["ratios"]["peers"] else ""
                         for r in recs]
                lines.append(f"| Lucid / {p} | " + " | ".join(cells) + " |")
            for p in peers:
                cells = [f"{r['ratios']['peers'][p]['first']:.3g}" if p in r["ratios"]["peers"] else ""
                         for r in recs]
                lines.append(f"| 1st call: Lucid / {p} | " + " | ".join(cells) + " |")
        refs = sorted({r["reference"] for r in recs})
        lines += ["", "Reference: " + "; ".join(refs) + "."]
    if sparse.get("memory"):
        lines += ["", "### Peak memory and the first call in a fresh process (child processes)", "",
                  "Peak RSS = the child's resident high-water mark after the first call (import, "
                  "inputs and the call); first / repeat = that call's own peak above the memory "
                  "before it; 1st call = its time in a fresh process (the cold path: for CasADi "
                  "the symbolic build, for asdex detection + colouring + compilation).", "",
                  "| case | method | peak RSS | first call (MiB) | repeat call (MiB) | 1st call (fresh process) | repeat call |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for m in sparse["memory"]:
            for row, v in m["rows"].items():
                if "error" in v:
                    lines.append(f"| {m['title']} | {row} | ERROR: {v['error'][:80]} | | | | |")
                    continue
                rep = v.get("repeat_call_mib")
                lines.append(f"| {m['title']} | {row} | {v['peak_rss_mib']:.0f} MiB | "
                             f"{v['first_call_mib']:.1f} | {'-' if rep is None else f'{rep:.1f}'} | "
                             f"{_fmt(v['first_call_s'])} | {_fmt(v.get('repeat_call_s'))} |")
    if sparse.get("targets"):
        lines += ["", "### Issue 14 targets", "", "| target | measured | met |", "|---|---|---|"]
        for t in sparse["targets"]:
            met = {True: "yes", False: "**no**", None: "-"}[t["met"]]
            lines.append(f"| {t['target']} | {t['measured']} | {met} |")
    lines += ["", f"(sparse part: {sparse.get('seconds', '?')} s)"]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        try:
            print(json.dumps(probe(json.loads(sys.argv[2]))))
        except Exception as e:  # noqa: BLE001
            print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
            sys.exit(1)
    else:
        print("run the sparse benchmark through bench.py: bench.py --sparse [--quick]")
        sys.exit(2)
