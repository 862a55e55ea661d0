"""Every way each library computes a workload's Jacobian (or Hessian, for W5).

A library is set up once (imported, configured); ``methods(case)`` then returns one
``Method`` per mode, each a zero-argument ``call`` that computes the full result (and
waits for it: JAX dispatches asynchronously) and ``blocks`` that turns the result into
Lucid's layout: one ``(m, numel(x_j))`` NumPy matrix per input, rows of tuple outputs
stacked in order. Constants and inputs are converted before any method is built, so
timings measure the differentiation call alone.

Row names are shared across workloads so the printed table lines up: for W5 the
"rev loop" row is ``hessian(vectorize=False)``, "jacrev" is ``jacrev(jacrev(f))`` and
"jacfwd" is ``jacfwd(jacrev(f))`` (PyTorch's and JAX's ``hessian``).

Methods that prepare something once before their steady calls (``jax.jit`` compiles,
``lucid.tape`` records, CasADi builds its symbolic Jacobian) have a ``fresh`` that gives
a new, unprepared call: its first call is timed on its own (the table's "1st call" row)
and the same callable is then timed in steady state.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass, field

import numpy as np


class Unavailable(Exception):
    """The library is not installed (or not usable); the message says why."""


@dataclass
class Method:
    row: str                     # table row, e.g. "lucid default (loop)"
    library: str                 # "lucid", "torch", "jax", "hips"
    family: str                  # "lucid", "eager" (a peer without compilation), "compiled"
                                 # (jax.jit) or "symbolic" (CasADi: a symbolic build, then a VM)
    call: object                 # () -> result (complete: JAX results are waited for)
    blocks: object               # result -> list of (m, n_j) ndarrays
    api: str = ""                # the exact call, for the JSON and the README
    default: bool = False        # the library's default call (ratio "default vs default")
    fresh: object = None         # () -> a new unprepared `call` (not yet compiled, recorded or
                                 # built) whose first call is timed apart (first-call timing)
    unsupported: str = ""        # non-empty: not applicable to this case (reason)
    facts: object = None         # () -> dict of facts for the JSON after timing (a tape's records)


def nested_blocks(result, case, to_np):
    """Lucid's layout from the nested ``[out_i][in_j]`` structure PyTorch and JAX return."""
    outs = result if case.out_tuple else (result,)
    blocks = []
    for j, n_j in enumerate(case.in_sizes):
        rows = []
        for i, m_i in enumerate(case.out_sizes):
            r = outs[i][j] if case.in_tuple else outs[i]
            rows.append(np.asarray(to_np(r)).reshape(m_i, n_j))
        blocks.append(np.vstack(rows) if len(rows) > 1 else rows[0])
    return blocks


def sparse_to_blocks(J, in_shape):
    """The per-sample blocks ``(N, m, d)`` held in a sparse ``(N m, N d)`` Jacobian of
    samples that depend only on themselves (for the check: never timed)."""
    N, d = in_shape
    m = J.shape[0] // N
    coo = J.tocoo()
    sample = coo.row // m
    if np.any(coo.col // d != sample):
        raise ValueError("the sparse Jacobian couples different samples")
    blocks = np.zeros((N, m, d), dtype=J.dtype)
    blocks[sample, coo.row % m, coo.col % d] = coo.data
    return blocks


def _chunk(case, total):
    """chunk_size for the chunked modes: the case's fixed one, else a quarter of the rows."""
    return int(case.params.get("chunk") or max(1, math.ceil(total / 4)))


# --- Lucid ------------------------------------------------------------------------------

class LucidLib:
    name = "lucid"

    def setup(self):
        import lucid
        from lucid import autograd
        self.lucid, self.ag = lucid, autograd
        self.version = getattr(lucid, "__version__", "?")
        self.jac_params = inspect.signature(autograd.jacobian).parameters
        self.hess_params = inspect.signature(autograd.hessian).parameters

        L = lucid

        class B:
            sin, cos, tanh, sqrt, reshape, cross = L.sin, L.cos, L.tanh, L.sqrt, L.reshape, L.cross

            @staticmethod
            def sum(x, axis, keepdims):
                return L.sum(x, dim=axis, keepdim=keepdims)

            @staticmethod
            def stack(xs):
                return L.stack(xs)
        self.B = B

    def modes(self, kind):
        """(row, kwargs, default?) for every mode this Lucid's signature offers."""
        params = self.jac_params if kind == "jacobian" else self.hess_params
        modes = [("lucid default (loop)", {"vectorize": False}, True)]
        if "vectorize" in params:
            modes.append(("lucid rev vec", {"vectorize": True}, False))
            if "chunk_size" in params:
                modes.append(("lucid rev vec chunk", {"vectorize": True, "chunk_size": "rows"}, False))
        strat = next((s for s in ("strategy", "outer_jacobian_strategy") if s in params), None)
        if strat:
            # the default strategy is "auto" (issue 19), so reverse mode's loop is its own row
            modes.append(("lucid rev loop", {strat: "reverse-mode", "vectorize": False}, False))
            modes.append(("lucid fwd", {strat: "forward-mode", "vectorize": True}, False))
            if "chunk_size" in params:
                modes.append(("lucid fwd chunk", {strat: "forward-mode", "vectorize": True,
                                                  "chunk_size": "cols"}, False))
            modes.append(("lucid auto", {strat: "auto", "vectorize": True}, False))
        return modes

    def methods(self, case):
        L = self.lucid
        xs = [L.tensor(a) for a in case.inputs]
        consts = {k: (L.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in case.consts.items()}
        f = case.build(self.B, consts)
        if case.kind == "blocks":
            return self._block_methods(case, f, xs, consts)
        inp = tuple(xs) if case.in_tuple else xs[0]
        fn = self.ag.jacobian if case.kind == "jacobian" else self.ag.hessian
        fname = f"lucid.autograd.{case.kind}"

        def blocks(res):
            if case.kind == "hessian":
                return [np.asarray(res.numpy())]
            res = res if case.in_tuple else (res,)
            return [np.asarray(r.numpy()) for r in res]

        out = []
        for row, kw, default in self.modes(case.kind):
            kw = dict(kw)
            if kw.get("chunk_size") == "rows":
                kw["chunk_size"] = _chunk(case, case.m)
            elif kw.get("chunk_size") == "cols":
                kw["chunk_size"] = _chunk(case, case.n)
            api = f"{fname}(f, x, " + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")"
            out.append(Method(row, "lucid", "lucid", (lambda kw=kw: fn(f, inp, **kw)), blocks,
                              api=api, default=default))
        out.append(self._tape_method(case, f, inp, blocks))
        return out

    def _block_methods(self, case, f, xs, consts):
        """Per-sample Jacobian blocks (W10), as a user writes them with ``lucid.func``:
        ``vmap(jacrev(f, argnums))`` over the samples (the default row) and ``jacfwd``;
        and with the functional API: the sparse Jacobian of every sample's output at
        once (``f`` written on the last axis takes the whole batch), whose pattern is the
        blocks and whose colouring needs one colour per column of a block."""
        F = self.lucid.func
        argnums = tuple(range(len(xs)))
        data = [consts[k] for k in case.consts]        # per-sample data, not differentiated
        out = []
        for name, transform in (("jacrev", F.jacrev), ("jacfwd", F.jacfwd)):
            batched = F.vmap(transform(f, argnums=argnums))
            out.append(Method(f"lucid vmap {name}", "lucid", "lucid", (lambda g=batched: g(*xs, *data)),
                              lambda res: [np.asarray(r.numpy()) for r in res],
                              api=f"lucid.func.vmap(lucid.func.{name}(f, argnums={argnums}))(*x, *data)",
                              default=name == "jacrev"))
        whole = (lambda *x: f(*x, *data))                # (N, 9), (N, 3) -> (N, 2)
        out.append(Method("lucid sparse", "lucid", "lucid",
                          (lambda: self.ag.jacobian(whole, tuple(xs), sparse=True)),
                          lambda res: [sparse_to_blocks(J, x.shape) for J, x in zip(res, case.inputs)],
                          api="lucid.autograd.jacobian(lambda *x: f(*x, *data), x, sparse=True) "
                              "(f on all observations at once; CSR blocks)"))
        return out

    def _tape_method(self, case, f, inp, blocks):
        """``lucid.tape`` (issue 15): ``f`` recorded once, then ``t.jacobian(x)`` (W5:
        ``t.hessian(x)``) replayed in Rust. A fresh call records on its first call (that
        call is record + prepare: ``lucid.tape(f, x)`` and the first replay)."""
        L = self.lucid
        api = (f"t = lucid.tape(f, x) once; t.{case.kind}(x) (steady state). "
               f"1st call: lucid.tape(f, x) + the first t.{case.kind}(x)")
        if not hasattr(L, "tape"):
            return Method("lucid tape", "lucid", "lucid", None, blocks, api=api,
                          unsupported="this Lucid has no lucid.tape")
        state = {}   # the tape of the latest fresh call (the one timed), for its record count

        def fresh():
            replay = None

            def call():
                nonlocal replay
                if replay is None:
                    tape = state["tape"] = L.tape(f, inp)
                    replay = getattr(tape, case.kind)
                return replay(inp)
            return call
        return Method("lucid tape", "lucid", "lucid", fresh(), blocks, api=api, fresh=fresh,
                      facts=lambda: {"tape_records": state["tape"].records})


# --- PyTorch ----------------------------------------------------------------------------

class TorchLib:
    name = "torch"

    def setup(self):
        try:
            import torch
        except ImportError as e:
            raise Unavailable(f"PyTorch not importable ({e}); its rows are skipped "
                              "(the bench never installs it: pip install torch to include it)")
        import torch.autograd.functional as AF
        self.torch, self.AF = torch, AF
        self.func = getattr(torch, "func", None)
        self.version = torch.__version__
        self.threads = torch.get_num_threads()
        T = torch

        class B:
            sin, cos, tanh, sqrt, reshape = T.sin, T.cos, T.tanh, T.sqrt, T.reshape

            @staticmethod
            def sum(x, axis, keepdims):
                return T.sum(x) if axis is None else T.sum(x, dim=axis, keepdim=keepdims)

            @staticmethod
            def stack(xs):
                return T.stack(xs)

            @staticmethod
            def cross(a, b):
                return T.linalg.cross(a, b)
        self.B = B

    def methods(self, case):
        T, AF = self.torch, self.AF
        xs = [T.from_numpy(a.copy()) for a in case.inputs]
        consts = {k: (T.from_numpy(v.copy()) if isinstance(v, np.ndarray) else v)
                  for k, v in case.consts.items()}
        f = case.build(self.B, consts)
        inp = tuple(xs) if case.in_tuple else xs[0]
        argnums = tuple(range(len(xs))) if case.in_tuple else 0
        to_np = lambda t: t.detach().cpu().numpy()  # noqa: E731
        blocks = lambda r: nested_blocks(r, case, to_np)  # noqa: E731
        out = []
        if case.kind == "blocks":
            if self.func is None:
                return out
            data = [consts[k] for k in case.consts]
            for name in ("jacrev", "jacfwd"):
                g = self.func.vmap(getattr(self.func, name)(f, argnums=argnums))
                out.append(Method(f"torch.func {name}", "torch", "eager", (lambda g=g: g(*xs, *data)),
                                  lambda r: [to_np(b) for b in r],
                                  f"torch.func.vmap(torch.func.{name}(f, argnums))(*x, *data)"))
            return out
        if case.kind == "jacobian":
            J = AF.jacobian
            out += [
                Method("torch AF vec=False (default)", "torch", "eager",
                       lambda: J(f, inp), blocks, "torch.autograd.functional.jacobian(f, x)", True),
                Method("torch AF vec=True", "torch", "eager",
                       lambda: J(f, inp, vectorize=True), blocks,
                       "torch.autograd.functional.jacobian(f, x, vectorize=True)"),
                Method("torch AF fwd vec=True", "torch", "eager",
                       lambda: J(f, inp, vectorize=True, strategy="forward-mode"), blocks,
                       "torch.autograd.functional.jacobian(f, x, vectorize=True, strategy='forward-mode')"),
            ]
            if self.func is not None:
                jr = self.func.jacrev(f, argnums=argnums)
                jf = self.func.jacfwd(f, argnums=argnums)
                out += [
                    Method("torch.func jacrev", "torch", "eager", lambda: jr(*xs), blocks,
                           "torch.func.jacrev(f, argnums)(*x)"),
                    Method("torch.func jacfwd", "torch", "eager", lambda: jf(*xs), blocks,
                           "torch.func.jacfwd(f, argnums)(*x)"),
                ]
        else:
            H = AF.hessian
            out += [
                Method("torch AF vec=False (default)", "torch", "eager",
                       lambda: H(f, inp), blocks, "torch.autograd.functional.hessian(f, x)", True),
                Method("torch AF vec=True", "torch", "eager",
                       lambda: H(f, inp, vectorize=True), blocks,
                       "torch.autograd.functional.hessian(f, x, vectorize=True)"),
                Method("torch AF fwd vec=True", "torch", "eager",
                       lambda: H(f, inp, vectorize=True, outer_jacobian_strategy="forward-mode"),
                       blocks, "torch.autograd.functional.hessian(f, x, vectorize=True, "
                       "outer_jacobian_strategy='forward-mode')"),
            ]
            if self.func is not None:
                hrr = self.func.jacrev(self.func.jacrev(f))
                hfr = self.func.hessian(f)
                out += [
                    Method("torch.func jacrev", "torch", "eager", lambda: hrr(*xs), blocks,
                           "torch.func.jacrev(torch.func.jacrev(f))(x)"),
                    Method("torch.func jacfwd", "torch", "eager", lambda: hfr(*xs), blocks,
                           "torch.func.hessian(f)(x)  (jacfwd of jacrev)"),
                ]
        return out


# --- JAX --------------------------------------------------------------------------------

class JaxLib:
    name = "jax"

    def setup(self):
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        try:
            import jax
            import jax.numpy as jnp
        except ImportError as e:
            raise Unavailable(f"JAX not importable ({e}); its rows are skipped "
                              "(`make bench` installs jax[cpu] into .venv)")
        jax.config.update("jax_enable_x64", True)
        self.jax, self.jnp = jax, jnp
        self.version = jax.__version__
        # Pay the backend's one-time start-up here, not in the first workload's compile.
        jax.block_until_ready(jax.jit(lambda v: v * 2.0)(jnp.ones(3)))

        class B:
            sin, cos, tanh, sqrt, reshape, cross = jnp.sin, jnp.cos, jnp.tanh, jnp.sqrt, jnp.reshape, jnp.cross

            @staticmethod
            def sum(x, axis, keepdims):
                return jnp.sum(x, axis=axis, keepdims=keepdims)

            @staticmethod
            def stack(xs):
                return jnp.stack(xs)
        self.B = B

    def clear_caches(self):
        clear = getattr(self.jax, "clear_caches", None)
        if clear is not None:
            clear()

    def methods(self, case):
        jax, jnp = self.jax, self.jnp
        xs = [jnp.asarray(a) for a in case.inputs]
        consts = {k: (jnp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in case.consts.items()}
        f = case.build(self.B, consts)
        argnums = tuple(range(len(xs))) if case.in_tuple else 0
        blocks = lambda r: nested_blocks(r, case, np.asarray)  # noqa: E731
        data = []
        if case.kind == "blocks":
            # per-sample blocks: vmap of the transform over the samples (and their data)
            data = [consts[k] for k in case.consts]
            blocks = lambda r: [np.asarray(b) for b in r]  # noqa: E731
            transforms = {
                "jacrev": lambda: jax.vmap(jax.jacrev(f, argnums=argnums)),
                "jacfwd": lambda: jax.vmap(jax.jacfwd(f, argnums=argnums)),
            }
            apis = {"jacrev": "jax.vmap(jax.jacrev(f, argnums))", "jacfwd": "jax.vmap(jax.jacfwd(f, argnums))"}
        elif case.kind == "jacobian":
            transforms = {
                "jacrev": lambda: jax.jacrev(f, argnums=argnums),
                "jacfwd": lambda: jax.jacfwd(f, argnums=argnums),
            }
            apis = {"jacrev": "jax.jacrev(f, argnums)", "jacfwd": "jax.jacfwd(f, argnums)"}
        else:
            transforms = {
                "jacrev": lambda: jax.jacrev(jax.jacrev(f)),
                "jacfwd": lambda: jax.hessian(f),
            }
            apis = {"jacrev": "jax.jacrev(jax.jacrev(f))", "jacfwd": "jax.hessian(f)  (jacfwd of jacrev)"}
        args = xs + data
        call_api = "(*x, *data)" if data else "(*x)"
        out = []
        for name, make in transforms.items():
            eager = make()
            out.append(Method(f"jax {name} (eager)", "jax", "eager",
                              lambda g=eager: jax.block_until_ready(g(*args)), blocks, apis[name] + call_api))
        for name, make in transforms.items():
            def fresh(make=make):
                g = jax.jit(make())
                return lambda: jax.block_until_ready(g(*args))
            out.append(Method(f"jax jit {name}", "jax", "compiled", fresh(), blocks,
                              f"jax.jit({apis[name]}){call_api}", fresh=fresh))
        return out


# --- HIPS autograd ----------------------------------------------------------------------

class HipsLib:
    name = "hips"

    def setup(self):
        try:
            import autograd
            import autograd.numpy as anp
        except ImportError as e:
            raise Unavailable(f"HIPS autograd not importable ({e}); its rows are skipped")
        self.autograd, self.anp = autograd, anp
        try:
            from importlib.metadata import version
            self.version = version("autograd")
        except Exception:  # noqa: BLE001 (metadata is optional)
            self.version = "?"

        class B:
            sin, tanh, sqrt, reshape = anp.sin, anp.tanh, anp.sqrt, anp.reshape

            @staticmethod
            def sum(x, axis, keepdims):
                return anp.sum(x, axis=axis, keepdims=keepdims)
        self.B = B

    def methods(self, case):
        ag, anp = self.autograd, self.anp
        xs = [a.copy() for a in case.inputs]
        f = case.build(self.B, dict(case.consts))
        if case.kind == "hessian":
            h = ag.hessian(f)
            return [Method("hips autograd", "hips", "eager", lambda: h(*xs),
                           lambda r: [np.asarray(r).reshape(case.m, case.n)], "autograd.hessian(f)(x)")]
        # autograd.jacobian wants one array output and one argnum: tuple outputs are
        # concatenated (the same stacked rows) and each input gets its own call.
        g = (lambda *a: anp.concatenate([anp.reshape(o, (-1,)) for o in f(*a)])) if case.out_tuple else f
        jacs = [ag.jacobian(g, argnum=j) for j in range(len(xs))]

        def blocks(res):
            return [np.asarray(r).reshape(case.m, n_j) for r, n_j in zip(res, case.in_sizes)]
        api = "autograd.jacobian(f, argnum=j)(*x)" + (" for each input j" if len(xs) > 1 else "")
        return [Method("hips autograd", "hips", "eager", lambda: [jac(*xs) for jac in jacs], blocks, api)]


# --- CasADi -----------------------------------------------------------------------------

def _casadi_w1(ca, x, c):
    return ca.sin(x) * x ** 2


def _casadi_mlp(ca, x, c):
    # CasADi computes in float64 only: W6's float32 weights are widened (same values)
    W1, b1, W2, b2 = (ca.DM(np.asarray(c[k], dtype=np.float64)) for k in ("W1", "b1", "W2", "b2"))
    return ca.mtimes(W2, ca.tanh(ca.mtimes(W1, x) + b1)) + b2


def casadi_expression(ca, case, x):
    """The case's function as a CasADi expression (SX or MX) of the stacked inputs ``x``;
    W3-W5 are built as the sparse benchmark builds them (``sparse_workloads``)."""
    from sparse_workloads import _w3_casadi, _w4_casadi, _w5_casadi
    build = {"W1": _casadi_w1, "W2": _casadi_mlp, "W6": _casadi_mlp, "W3": _w3_casadi,
             "W4": _w4_casadi, "W5": _w5_casadi}[case.params["wid"]]
    return build(ca, x, dict(case.consts, n=case.in_sizes[0]))   # W4's builder reads n


def casadi_build(ca, case, S):
    """The cold path: symbols of class ``S`` (SX or MX), the expression, its
    ``casadi.jacobian`` (``casadi.hessian(e, x)[0]`` for W5) and the Function."""
    x = S.sym("x", case.n)
    e = casadi_expression(ca, case, x)
    J = ca.hessian(e, x)[0] if case.kind == "hessian" else ca.jacobian(e, x)
    return ca.Function("J", [x], [J])


def import_casadi():
    """``(casadi, version)``, or Unavailable (its rows are then skipped with a note)."""
    try:
        import casadi
    except ImportError as e:
        raise Unavailable(f"CasADi not importable ({e}); its rows are skipped (`make bench` installs it)")
    return casadi, casadi.__version__


class CasadiLib:
    """CasADi (issue 15's peer for ``lucid.tape``): a symbolic Jacobian built once, then
    evaluated by CasADi's virtual machine. SX (scalar expression graph) for every case;
    for the MLPs also MX (matrix-valued nodes), since their SX graph is large: an MLP's
    SX build is first timed in a child process and skipped when it takes longer than
    ``sx_cap`` seconds (``sx_cap = 0``: never built, as in --smoke)."""

    name = "casadi"
    sx_cap = 20.0

    def setup(self):
        self.ca, self.version = import_casadi()
        self._sx_verdicts = {}

    def _sx_too_slow(self, case):
        """Why an MLP's SX rows are skipped ("" when they are not): its build is timed in
        a child process, killed at the cap (a build cannot be interrupted in this one)."""
        if not self.sx_cap:
            return "SX build of the MLPs not attempted in this mode (it takes a second or more)"
        if case.key not in self._sx_verdicts:
            try:
                proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--casadi-build", case.key],
                                      capture_output=True, text=True, timeout=self.sx_cap + 5.0)
                lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
                # a child that failed says nothing: the build in this process reports it
                seconds = json.loads(lines[-1])["seconds"] if proc.returncode == 0 and lines else 0.0
            except subprocess.TimeoutExpired:   # (5 s more for the child's imports)
                seconds = math.inf
            self._sx_verdicts[case.key] = "" if seconds <= self.sx_cap else (
                f"SX build took {seconds:.0f} s" if math.isfinite(seconds)
                else f"SX build unfinished after {self.sx_cap + 5.0:g} s")
        why = self._sx_verdicts[case.key]
        return why and f"{why} (cap {self.sx_cap:g} s, timed in a child process): skipped, see the MX rows"

    def methods(self, case):
        ca = self.ca
        x0 = np.ascontiguousarray(np.concatenate([a.ravel() for a in case.inputs]), dtype=np.float64)
        cuts = np.cumsum(case.in_sizes)[:-1]
        split = lambda J: np.split(J, cuts, axis=1)  # noqa: E731  (Lucid's blocks: one per input)
        mlp = case.params["wid"] in ("W2", "W6")
        what = "hessian(e, x)[0]" if case.kind == "hessian" else "jacobian(e, x)"
        out = []
        for sym in ("SX", "MX") if mlp else ("SX",):
            S = getattr(ca, sym)
            state = {}    # the Function of the latest build, shared with the buffer row

            def build(S=S, state=state):
                Jf = state["Jf"] = casadi_build(ca, case, S)
                return Jf

            def fresh(build=build):
                Jf = None

                def call():
                    nonlocal Jf
                    if Jf is None:
                        Jf = build()
                    return Jf(x0)
                return call

            def buffer(build=build, state=state):
                trigger = res = None

                def call():
                    nonlocal trigger, res
                    if trigger is None:
                        Jf = state["Jf"] if "Jf" in state else build()
                        res = np.zeros(Jf.nnz_out(0))
                        buf, trigger = Jf.buffer()
                        buf.set_arg(0, memoryview(x0))
                        buf.set_res(0, memoryview(res))
                        state["keep"] = buf    # the buffer must outlive the trigger
                    trigger()
                    return res
                return call

            def from_nonzeros(nz, state=state):
                """The buffer's nonzeros (CCS order of the Function's output pattern) as
                Lucid's blocks: conversion for the check, never timed."""
                sp = state["Jf"].sparsity_out(0)
                J = np.zeros((case.m, case.n))
                cols = np.repeat(np.arange(case.n), np.diff(np.asarray(sp.colind())))
                J[np.asarray(sp.row(), dtype=np.int64), cols] = nz
                return split(J)

            build_api = (f"{sym}.sym of the stacked inputs + the expression + casadi.{what} + "
                         "casadi.Function")
            rows = [
                Method(f"casadi {sym} call", "casadi", "symbolic", fresh(),
                       lambda r: split(np.asarray(r.full())),
                       f"Jf(x) -> casadi.DM (its sparse matrix; no conversion timed). 1st call: "
                       f"{build_api} + the first Jf(x)", fresh=fresh),
                Method(f"casadi {sym} buffer call", "casadi", "symbolic", buffer(), from_nonzeros,
                       "buf, trigger = Jf.buffer(); set_arg/set_res with memoryviews; trigger() "
                       f"writes the nonzeros (CCS order) into a preallocated array. Reuses the "
                       f"Function of 'casadi {sym} call' (no first call of its own)"),
            ]
            if mlp and sym == "SX":
                why = self._sx_too_slow(case)
                for m in rows:
                    m.unsupported = why
            out += rows
        return out


LIBRARIES = {"lucid": LucidLib, "torch": TorchLib, "jax": JaxLib, "hips": HipsLib, "casadi": CasadiLib}

# The order of the table's rows (rows a run does not have are left out).
ROW_ORDER = [
    "lucid default (loop)", "lucid rev loop", "lucid rev vec", "lucid rev vec chunk", "lucid fwd",
    "lucid fwd chunk", "lucid auto", "lucid tape", "lucid vmap jacrev", "lucid vmap jacfwd",
    "lucid sparse",
    "torch AF vec=False (default)", "torch AF vec=True", "torch AF fwd vec=True",
    "torch.func jacrev", "torch.func jacfwd",
    "jax jacrev (eager)", "jax jacfwd (eager)", "jax jit jacrev", "jax jit jacfwd",
    "hips autograd",
    "casadi SX call", "casadi SX buffer call", "casadi MX call", "casadi MX buffer call",
]


def setup_libraries(registry, names, notes):
    """The libraries of `registry` named in `names` (Lucid always first) that set up;
    each that cannot says why in `notes`, as do the notes a library keeps."""
    libs = []
    for name in ["lucid"] + [n for n in names if n != "lucid" and n in registry]:
        lib = registry[name]()
        try:
            lib.setup()
        except Unavailable as e:
            notes.append(f"{name}: {e}")
            continue
        libs.append(lib)
        if hasattr(lib, "notes"):
            notes.extend(lib.notes())
    return libs


if __name__ == "__main__":
    # child of CasadiLib._sx_too_slow: python methods.py --casadi-build '{"wid": "W2", ...}'
    # prints the seconds of the SX build (symbols, expression, jacobian, Function)
    if len(sys.argv) == 3 and sys.argv[1] == "--casadi-build":
        import time

        import casadi
        from workloads import make_case
        _case = make_case(json.loads(sys.argv[2]))
        _t0 = time.perf_counter()
        casadi_build(casadi, _case, casadi.SX)
        print(json.dumps({"seconds": time.perf_counter() - _t0}))
    else:
        sys.exit("methods.py runs as a child of the benchmark only (--casadi-build)")
