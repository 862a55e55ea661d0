"""Every way each library computes a sparse workload's Jacobian (Hessian for W5s).

Lucid (``sparse=True`` in its three strategies and through ``lucid.tape`` of issue 15,
and dense as a check), asdex (jit of the compressed sweeps, BCOO result, and with
conversion to a scipy csr_array), CasADi (the
ordinary call of an SX Function returning a DM, and its buffer call), dense
``jax.jit(jax.jacfwd)`` where it fits, and SciPy's sparse finite differences. Each
``SMethod.first()`` makes one cold first call and returns the steady-state callable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import methods
from methods import JaxLib, LucidLib, Unavailable
from sparse_workloads import bcoo_to_csr, to_csr


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
    shares_build: str = ""          # row whose build (colouring, compilation) this one reuses:
                                    # its first call is not a cold one and is not reported


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
        out.append(self._tape_method(case, f, inp, conv_sparse, sparse_ok))
        kw = {"vectorize": True}
        api = f"{fname}(f, x, vectorize=True)  (dense)"
        m = SMethod("lucid dense", "lucid", "dense", _timed_first(lambda: lambda: fn(f, inp, **kw)),
                    conv_dense, api, main=not sparse_ok)
        if not case.dense_ok:
            m.unsupported = f"dense J would be {case.m * case.n * 8 / 2**20:.0f} MiB"
        out.append(m)
        return out

    def _tape_method(self, case, f, inp, convert, sparse_ok):
        """``lucid.tape`` (issue 15): ``t = lucid.tape(f, x)`` once, then
        ``t.jacobian(x, sparse=True)`` (W5s: ``t.hessian``) replayed. Its first call
        records f, then detects and colours the pattern (cache cleared before)."""
        L = self.lucid
        what = case.kind

        def build():
            if self.clear is not None:
                self.clear()
            replay = getattr(L.tape(f, inp), what)
            return lambda: replay(inp, sparse=True)
        m = SMethod("lucid tape sparse", "lucid", "sparse", _timed_first(build), convert,
                    f"t = lucid.tape(f, x) once; t.{what}(x, sparse=True). 1st call: "
                    f"lucid.tape(f, x) + the first t.{what}(x, sparse=True) (pattern cache cleared)")
        if not hasattr(L, "tape"):
            m.unsupported = "this Lucid has no lucid.tape"
        elif not sparse_ok:
            m.unsupported = f"{what} has no `sparse` parameter yet"
        return m


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
            m.unsupported = f"dense J would be {case.m * case.n * 8 / 2**20:.0f} MiB"
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
            state["coloring"], state["h"] = col, h
            return lambda: jax.block_until_ready(h(x))

        def build_csr():
            if "h" not in state:
                build()
            h = state["h"]
            return lambda: bcoo_to_csr(jax.block_until_ready(h(x)), shape)

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
                    api + ", then BCOO -> scipy csr_array (Lucid's result type)",
                    shares_build="asdex jit (BCOO)"),
        ]


class CasadiLib:
    name = "casadi"

    def setup(self):
        self.ca, self.version = methods.import_casadi()

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
            Jf = state["Jf"] = self._build(case)
            state["pattern"] = pattern(Jf)
            return lambda: Jf(x0)

        def build_buffer():
            Jf = state["Jf"] if "Jf" in state else self._build(case)
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
                    "writes the nonzeros (CCS order) into a preallocated array",
                    shares_build="casadi call (DM)"),
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

ROW_ORDER = ["lucid sparse (default)", "lucid sparse fwd", "lucid sparse rev", "lucid tape sparse",
             "lucid dense",
             "asdex jit (BCOO)", "asdex jit + to csr", "casadi call (DM)", "casadi buffer (VM)",
             "jax jit jacfwd (dense)", "scipy FD 2-point"]


def setup_libraries(names, notes):
    return methods.setup_libraries(SPARSE_LIBRARIES, names, notes)


def _methods(lib, case, reference):
    if isinstance(lib, ScipyFD):
        # SciPy is given the structure (the reference's nonzeros); it colours it itself
        return lib.methods(case, pattern=None if reference is None else
                           (lambda: (reference() != 0).astype(np.float64)))
    return lib.methods(case)
