"""The benchmark workloads W1-W6 of DESIGN.md, written once for every library.

Each workload is one function written against a tiny backend namespace ``B`` (``sin``,
``tanh``, ``sqrt``, ``sum``, ``reshape``) plus the operators every library shares
(``+ - * / ** @`` and basic slicing), so Lucid, PyTorch, JAX and HIPS autograd
differentiate literally the same expression. Inputs and constants come from a fixed
seed per case, as NumPy arrays; each library converts them once, outside the timing.

A case is identified by a small dict of parameters (``{"wid": "W2", "in": 64, ...}``)
so that a memory-probe child process can rebuild exactly the same case from its
command line.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field

import numpy as np

SEED = 20240611


@dataclass
class Case:
    """One workload at one size: inputs, constants and the function to differentiate."""

    params: dict                 # identifies the case: {"wid": "W2", "in": 64, ...}
    title: str                   # short label for tables, e.g. "W2 64-256-32"
    kind: str                    # "jacobian" or "hessian"
    dtype: str                   # "float64" or "float32"
    inputs: list                 # NumPy arrays, one per differentiated input
    consts: dict                 # NumPy arrays the function closes over
    build: object                # build(B, consts) -> f(*inputs)
    in_tuple: bool               # inputs passed as a tuple (several inputs)
    out_tuple: bool              # the function returns a tuple of outputs
    out_sizes: list              # numel of each output (for a Hessian: [n])
    description: str = ""
    notes: list = field(default_factory=list)

    @property
    def in_sizes(self):
        return [int(a.size) for a in self.inputs]

    @property
    def m(self):
        return int(sum(self.out_sizes))

    @property
    def n(self):
        return int(sum(self.in_sizes))

    @property
    def key(self):
        return json.dumps(self.params, sort_keys=True)

    def rng(self):
        return np.random.default_rng([SEED, zlib.crc32(self.key.encode())])


# --- the functions, written once ------------------------------------------------------

def _w1(B, c):
    def f(x):
        return B.sin(x) * x ** 2
    return f


def _mlp(B, c):
    W1, b1, W2, b2 = c["W1"], c["b1"], c["W2"], c["b2"]

    def f(x):
        return W2 @ B.tanh(W1 @ x + b1) + b2
    return f


def _w3(B, c):
    rows = c["rows"]

    def f(x):
        r = B.reshape(x, (rows, 3))
        return r / B.sqrt(B.sum(r * r, 1, True))
    return f


def _w4(B, c):
    def f(a, b):
        return a * b, B.sum(a[:, None] * b[None, :], 0, False)
    return f


def _w5(B, c):
    def f(x):
        return B.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2, None, False)
    return f


# --- cases ----------------------------------------------------------------------------

def make_case(params: dict) -> Case:
    """Build the case named by ``params`` (inputs drawn from the fixed seed)."""
    p = dict(params)
    wid = p["wid"]
    if wid == "W1":
        n = int(p["n"])
        case = Case(p, f"W1 n={n}", "jacobian", "float64", [], {}, _w1, False, False, [n],
                    "sin(x) * x**2 (diagonal Jacobian)")
        case.inputs = [case.rng().uniform(-2.0, 2.0, n)]
    elif wid in ("W2", "W6"):
        n_in, hidden, out = int(p["in"]), int(p["hidden"]), int(p["out"])
        dtype = "float32" if wid == "W6" else "float64"
        name = f"{wid} {n_in}-{hidden}-{out}"
        case = Case(p, name, "jacobian", dtype, [], {}, _mlp, False, False, [out],
                    f"MLP W2 @ tanh(W1 @ x + b1) + b2, {n_in}->{hidden}->{out}, {dtype}")
        rng = case.rng()
        case.consts = {
            "W1": rng.standard_normal((hidden, n_in)) / math.sqrt(n_in),
            "b1": rng.standard_normal(hidden) * 0.1,
            "W2": rng.standard_normal((out, hidden)) / math.sqrt(hidden),
            "b2": rng.standard_normal(out) * 0.1,
        }
        case.inputs = [rng.standard_normal(n_in)]
    elif wid == "W3":
        rows = int(p.get("rows", 100))
        case = Case(p, f"W3 n=m={3 * rows}", "jacobian", "float64", [], {"rows": rows}, _w3,
                    False, False, [3 * rows],
                    f"rows of x.reshape({rows}, 3) normalised to unit length")
        case.inputs = [case.rng().standard_normal(3 * rows)]
    elif wid == "W4":
        n = int(p.get("n", 50))
        case = Case(p, f"W4 2x{n}->2x{n}", "jacobian", "float64", [], {}, _w4, True, True, [n, n],
                    "two inputs, two outputs: (a*b, (a[:,None]*b[None,:]).sum(0))")
        rng = case.rng()
        case.inputs = [rng.standard_normal(n), rng.standard_normal(n)]
    elif wid == "W5":
        n = int(p.get("n", 100))
        case = Case(p, f"W5 hess n={n}", "hessian", "float64", [], {}, _w5, False, False, [n],
                    "Hessian of the Rosenbrock sum")
        case.inputs = [case.rng().uniform(-1.5, 1.5, n)]
    else:
        raise ValueError(f"unknown workload {wid!r}")
    if case.dtype == "float32":
        case.inputs = [a.astype(np.float32) for a in case.inputs]
        case.consts = {k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v)
                       for k, v in case.consts.items()}
    if "chunk" in p:
        case.notes.append(f"chunked modes use chunk_size={p['chunk']}")
    return case


def main_cases(quick: bool) -> list:
    """The table of DESIGN.md; ``quick`` keeps one size per workload."""
    if quick:
        params = [
            {"wid": "W1", "n": 256},
            {"wid": "W2", "in": 64, "hidden": 256, "out": 32},
            {"wid": "W3", "rows": 100},
            {"wid": "W4", "n": 50},
            {"wid": "W5", "n": 100},
            {"wid": "W6", "in": 64, "hidden": 256, "out": 32},
        ]
    else:
        params = [
            {"wid": "W1", "n": 16},
            {"wid": "W1", "n": 256},
            {"wid": "W1", "n": 1024},
            {"wid": "W2", "in": 64, "hidden": 256, "out": 32},
            {"wid": "W2", "in": 64, "hidden": 256, "out": 512},
            {"wid": "W2", "in": 1024, "hidden": 256, "out": 8},
            {"wid": "W3", "rows": 100},
            {"wid": "W4", "n": 50},
            {"wid": "W5", "n": 100},
            {"wid": "W6", "in": 64, "hidden": 256, "out": 32},
        ]
    return [make_case(p) for p in params]


def scaling_series(small: bool) -> dict:
    """Time vs m for W2 (64-256-out) and vs n for W1; ``small``: one point each (smoke)."""
    outs = [128] if small else [32, 128, 512, 2048]
    ns = [64] if small else [16, 64, 256, 1024, 4096]
    return {
        "W2 time vs out (64-256-out)": [
            make_case({"wid": "W2", "in": 64, "hidden": 256, "out": o}) for o in outs],
        "W1 time vs n": [make_case({"wid": "W1", "n": n}) for n in ns],
    }


def chunk_memory_series(small: bool) -> list:
    """W2 64-256-out with a fixed chunk_size, for the memory-vs-output-size series."""
    outs = [256] if small else [256, 1024, 4096]
    return [make_case({"wid": "W2", "in": 64, "hidden": 256, "out": o, "chunk": 64}) for o in outs]
