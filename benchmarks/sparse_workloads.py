"""The sparse workloads of issue 14, written once for every library (see sparse.py).

W7 (1-D stencil with slices and cat) and W8 (2-D 5-point Laplacian + cubic, flat input
of N*N reshaped row-major) are new; W3s, W4s and W5s are W3, W4 and W5 of
``workloads.py`` (same functions, same inputs). Each case also carries the same
expression built from CasADi SX, and for W7, W8 and W5s the Jacobian (Hessian) written
out by hand, which is the reference at every size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from workloads import SEED, make_case

DENSE_LIMIT = 10**8          # m*n above which no dense Jacobian is formed (800 MB float64)
QUICK_DENSE_LIMIT = 10**7    # --quick / --smoke: no 800 MB dense results (n <= 3162)


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
    dense_limit: int = DENSE_LIMIT
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
        return self.m * self.n <= self.dense_limit

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
    cases = [make_sparse_case(p) for p in params]
    for c in cases:
        c.dense_limit = DENSE_LIMIT if mode == "full" else QUICK_DENSE_LIMIT
    return cases


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
