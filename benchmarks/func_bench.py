"""Issue 16's benchmark: per-sample Jacobians and per-sample gradients through
``lucid.func.vmap``, side by side with ``jax.jit(jax.vmap(...))`` and ``torch.func.vmap``.

    python benchmarks/bench.py --func             # only these rows (full sizes and budgets)
    python benchmarks/bench.py --quick --smoke    # `make test`: a few samples each

Two workloads, each a batch of samples mapped by ``vmap`` over a derivative transform:

- ``VJ``: the Jacobian of the W2 MLP 64->256->32 of ``workloads.py`` (its function and
  weights, not redefined here) at each of 1 000 inputs, the weights passed unmapped:
  ``vmap(jacrev(f), in_dims=(0, None, None, None, None))(X, W1, b1, W2, b2)``, shape
  (1000, 32, 64).
- ``VG``: the gradient of ``loss(w, x, y) = sum((tanh(w @ x) - y)**2)`` (w 8x4) at each of
  10 000 samples ``(x, y)``: ``vmap(grad(loss), in_dims=(None, 0, 0))(w, X, Y)``, shape
  (10000, 8, 4). The targets ``Y`` are float: Lucid's ``vmap`` takes the tape path only
  when every mapped input is floating point.

Rows: ``lucid.func.vmap`` (one recording replayed once over the whole batch with each op's
batching rule, per-sample derivatives from that one graph), the same with batching rules
off (``lucid vmap per-elem``: the recording replayed per element across the cores, the
path before batching rules and still the one when a guard differs between samples), a Python
loop of ``lucid.func`` calls per sample (what per-sample derivatives took before issue 16;
no target), ``jax.jit`` of ``jax.vmap`` (its first call traces and compiles, after
``jax.clear_caches()``) and ``torch.func.vmap`` (when PyTorch is installed). Every row's
first call is made on a freshly built transform and timed apart; the steady state is the
median of repeated calls (``timing.measure``). Every result is compared with Lucid's
``vmap`` result: max |difference| at most 1e-10 (float64).

Issue 16's targets, checked per workload (speed is never asserted, a miss is marked):
Lucid's steady state at most 1.5x ``jax.jit``'s, at least 5x faster than ``torch.func``
(Lucid / torch.func at most 0.2), and Lucid's first call under 10 ms.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from timing import measure
from workloads import SEED, make_case

TOLERANCE = 1e-10          # max |a - ref| over the whole batch, float64
TARGET_JIT = 1.5           # lucid steady / jax.jit steady, at most
TARGET_TORCH = 1 / 5       # lucid steady / torch.func steady, at most (5x faster)
TARGET_FIRST = 0.010       # lucid first call, seconds, under

# budgets per mode: seconds of steady timing per row, samples, first calls per row
CONFIG = {
    "full": {"budget": 2.0, "min_samples": 7, "first_repeats": 3},
    "quick": {"budget": 0.5, "min_samples": 5, "first_repeats": 1},
    "smoke": {"budget": 0.02, "min_samples": 3, "first_repeats": 1},
}
# samples per workload: the sizes, and a few for `make test`
SIZES = {"VJ": {"smoke": 4, "default": 1000}, "VG": {"smoke": 8, "default": 10_000}}

ROWS = ["lucid.func vmap", "lucid vmap per-elem", "lucid.func loop", "jax jit(vmap)", "torch.func vmap"]


@dataclass
class FuncCase:
    """One per-sample workload: its NumPy arguments and how to build its function."""

    wid: str                      # "VJ" or "VG"
    title: str
    transform: str                # "jacrev" or "grad"
    args: list                    # NumPy arrays, one per positional argument
    in_dims: tuple                # 0 (mapped) or None per argument
    build: object                 # build(B) -> f(*args of one sample)
    description: str = ""
    notes: list = field(default_factory=list)

    @property
    def samples(self):
        return next(a.shape[0] for a, d in zip(self.args, self.in_dims) if d == 0)


def per_sample_jacobians(samples):
    """VJ: W2 64->256->32 (workloads.py) at ``samples`` inputs; the weights are arguments."""
    w2 = make_case({"wid": "W2", "in": 64, "hidden": 256, "out": 32})
    c = w2.consts
    X = np.random.default_rng([SEED, 16, 1]).standard_normal((samples, 64))

    def build(B):
        def f(x, W1, b1, W2, b2):
            return w2.build(B, {"W1": W1, "b1": b1, "W2": W2, "b2": b2})(x)
        return f
    return FuncCase("VJ", f"VJ {w2.title} x{samples}", "jacrev", [X, c["W1"], c["b1"], c["W2"], c["b2"]],
                    (0, None, None, None, None), build,
                    f"per-sample Jacobians of {w2.title} ({w2.description}) at {samples} inputs: "
                    f"vmap(jacrev(f), in_dims=(0, None, None, None, None))(X, W1, b1, W2, b2) -> "
                    f"({samples}, 32, 64)")


def per_sample_gradients(samples):
    """VG: the gradient of sum((tanh(w @ x) - y)**2), w 8x4, at ``samples`` pairs (x, y)."""
    rng = np.random.default_rng([SEED, 16, 2])
    w = rng.standard_normal((8, 4)) / 2.0
    X = rng.standard_normal((samples, 4))
    Y = rng.uniform(-1.0, 1.0, (samples, 8))

    def build(B):
        def loss(w, x, y):
            return B.sum((B.tanh(w @ x) - y) ** 2, None, False)
        return loss
    return FuncCase("VG", f"VG loss 8x4 x{samples}", "grad", [w, X, Y], (None, 0, 0), build,
                    f"per-sample gradients of sum((tanh(w @ x) - y)**2), w 8x4, at {samples} float "
                    f"samples (x, y): vmap(grad(loss), in_dims=(None, 0, 0))(w, X, Y) -> ({samples}, 8, 4)")


def func_cases(mode, keep=lambda wid: True):
    size = "smoke" if mode == "smoke" else "default"
    makers = {"VJ": per_sample_jacobians, "VG": per_sample_gradients}
    return [make(SIZES[wid][size]) for wid, make in makers.items() if keep(wid)]


# --- the rows ---------------------------------------------------------------------------

@dataclass
class Row:
    row: str
    library: str
    api: str
    fresh: object = None          # () -> a new call (transform built anew, nothing compiled)
    to_np: object = None          # result -> ndarray
    clear: object = None          # () -> None, before each first call (jax.clear_caches)
    skipped: str = ""             # non-empty: why this row is not run
    failed: str = ""              # non-empty: its set-up raised (an error of the run)


def _lucid_rows(lib, case):
    L = lib.lucid
    from lucid import func as F
    f = case.build(lib.B)
    args = [L.tensor(a) for a in case.args]
    T = getattr(F, case.transform)
    dims = case.in_dims
    mapped = [k for k, d in enumerate(dims) if d == 0]

    def vmap_fresh():
        g = F.vmap(T(f), in_dims=dims)
        return lambda: g(*args)

    def per_element_fresh():
        # the path vmap took before batching rules (and still takes when a guard differs
        # between samples): the tape replayed once per sample across the cores
        from lucid import _vmap
        g = F.vmap(T(f), in_dims=dims)

        def call():
            _vmap._BATCHED = False
            try:
                return g(*args)
            finally:
                _vmap._BATCHED = True
        return call

    def loop_fresh():
        # what per-sample derivatives took before lucid.func.vmap: one call per sample
        g = T(f)
        n = case.samples

        def call():
            outs = []
            for i in range(n):
                a = list(args)
                for k in mapped:
                    a[k] = args[k][i]
                outs.append(g(*a))
            return L.stack(outs, 0)
        return call
    dims_text = ", ".join("None" if d is None else str(d) for d in dims)
    to_np = lambda r: np.asarray(r.numpy())  # noqa: E731
    return [
        Row("lucid.func vmap", "lucid", f"lucid.func.vmap(lucid.func.{case.transform}(f), in_dims=({dims_text}))(*args)",
            vmap_fresh, to_np),
        Row("lucid vmap per-elem", "lucid", "the same vmap with batching rules off: one tape replay per sample",
            per_element_fresh, to_np),
        Row("lucid.func loop", "lucid", f"lucid.stack([lucid.func.{case.transform}(f)(*args_i) for each sample], 0)",
            loop_fresh, to_np),
    ]


def _jax_rows(lib, case):
    jax, jnp = lib.jax, lib.jnp
    f = case.build(lib.B)
    args = [jnp.asarray(a) for a in case.args]
    T = getattr(jax, case.transform)

    def fresh():
        g = jax.jit(jax.vmap(T(f), in_axes=case.in_dims))
        return lambda: jax.block_until_ready(g(*args))
    return [Row("jax jit(vmap)", "jax", f"jax.jit(jax.vmap(jax.{case.transform}(f), in_axes={case.in_dims}))(*args)",
                fresh, np.asarray, clear=lib.clear_caches)]


def _torch_rows(lib, case):
    api = f"torch.func.vmap(torch.func.{case.transform}(f), in_dims={case.in_dims})(*args)"
    func = getattr(lib, "func", None)
    if func is None or not hasattr(func, "vmap"):
        return [Row("torch.func vmap", "torch", api, skipped=f"this PyTorch {lib.version} has no torch.func")]
    T = lib.torch
    f = case.build(lib.B)
    args = [T.from_numpy(a.copy()) for a in case.args]
    transform = getattr(func, case.transform)

    def fresh():
        g = func.vmap(transform(f), in_dims=case.in_dims)
        return lambda: g(*args)
    return [Row("torch.func vmap", "torch", api, fresh, lambda r: r.detach().cpu().numpy())]


def rows_for(case, libs, wanted):
    """Every row of ``case``: run where the library set up, else skipped with the reason."""
    by_name = {lib.name: lib for lib in libs}
    out = []
    for name, row, make, absent in (
            ("lucid", "lucid.func vmap", _lucid_rows, ""),
            ("jax", "jax jit(vmap)", _jax_rows, "JAX not importable (`make bench` installs jax[cpu] into .venv)"),
            ("torch", "torch.func vmap", _torch_rows,
             "PyTorch not importable (the bench never installs it: pip install torch)")):
        if name not in by_name:
            why = absent if name in wanted else f"{name} left out by --libraries"
            out.append(Row(row, name, "", skipped=why))
            continue
        try:
            out += make(by_name[name], case)
        except Exception as e:  # noqa: BLE001  (a library's set-up failing is reported, not fatal)
            out.append(Row(row, name, "", failed=f"set-up failed: {type(e).__name__}: {e}"))
    return out


# --- running ----------------------------------------------------------------------------

def first_calls(row, repeats):
    """Time the first call of ``repeats`` fresh transforms (caches cleared before each);
    returns (median seconds, [seconds], the last call, its result)."""
    times, call, res = [], None, None
    for _ in range(repeats):
        if row.clear is not None:
            row.clear()
        call = row.fresh()
        t0 = time.perf_counter()
        res = call()
        times.append(time.perf_counter() - t0)
        if times[-1] > 1.0:
            break
    return float(np.median(times)), times, call, res


def run_case(case, libs, wanted, cfg, log):
    rec = {"wid": case.wid, "title": case.title, "description": case.description,
           "transform": case.transform, "samples": case.samples, "methods": []}
    ref = None
    for row in rows_for(case, libs, wanted):
        entry = {"row": row.row, "library": row.library, "api": row.api}
        rec["methods"].append(entry)
        if row.skipped:
            entry.update(status="skipped", note=row.skipped)
            continue
        if row.failed:
            entry.update(status="error", note=row.failed)
            log(f"  !! {row.row} FAILED on {case.title}: {row.failed}")
            continue
        try:
            first, first_samples, call, res = first_calls(row, cfg["first_repeats"])
            timing, _ = measure(call, cfg["budget"], cfg["min_samples"], first=(first_samples[-1], res))
            value = row.to_np(res)
        except Exception as e:  # noqa: BLE001  (a failing row is reported, the others still run)
            entry.update(status="error", note=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(limit=4))
            log(f"  !! {row.row} FAILED on {case.title}: {type(e).__name__}: {e}")
            continue
        entry.update(status="ok", first_call=first, first_call_samples=first_samples,
                     **{k: v for k, v in timing.to_json().items() if k != "first"},
                     shape=list(value.shape), result_dtype=str(value.dtype))
        if row.row == "lucid.func vmap":
            ref = value
        if ref is None:
            entry.update(agrees=False, max_abs_diff=None, note="no reference: lucid.func vmap failed")
            continue
        if value.shape != ref.shape:
            entry.update(agrees=False, max_abs_diff=None, note=f"shape {value.shape}, Lucid's is {ref.shape}")
        else:
            diff = float(np.max(np.abs(value.astype(np.float64) - ref))) if ref.size else 0.0
            entry.update(max_abs_diff=diff if math.isfinite(diff) else None,
                         agrees=math.isfinite(diff) and diff <= TOLERANCE)
            if not entry["agrees"]:
                entry["note"] = f"max abs diff {diff:.3g} > {TOLERANCE:g}"
        if not entry["agrees"]:
            log(f"  !! {row.row} DISAGREES with lucid.func vmap on {case.title}: {entry['note']}")
        log(f"  {case.title}: {row.row}: {entry['median'] * 1e3:.3f} ms steady, "
            f"{first * 1e3:.3f} ms first call")
    rec["targets"] = targets(rec)
    return rec


def targets(rec):
    """Issue 16's three targets for one workload: {name: {ratio/seconds, target, meets}}."""
    by_row = {e["row"]: e for e in rec["methods"] if e.get("status") == "ok" and e.get("agrees")}
    lu, jit, torch = by_row.get("lucid.func vmap"), by_row.get("jax jit(vmap)"), by_row.get("torch.func vmap")

    def ratio(peer, target, wanted):
        if lu is None or peer is None:
            why = "lucid.func vmap" if lu is None else wanted
            skipped = next((e.get("note") for e in rec["methods"] if e["row"] == wanted), None)
            return {"ratio": None, "target": target, "meets": None, "missing": why, "why": skipped}
        value = lu["median"] / peer["median"]
        return {"ratio": value, "target": target, "meets": value <= target,
                "lucid_s": lu["median"], "peer_s": peer["median"]}
    first = {"seconds": lu and lu["first_call"], "target": TARGET_FIRST,
             "meets": None if lu is None else lu["first_call"] < TARGET_FIRST,
             "jit_first_s": jit and jit["first_call"]}
    return {"lucid_s": lu and lu["median"],
            "jit": ratio(jit, TARGET_JIT, "jax jit(vmap)"),
            "torch": ratio(torch, TARGET_TORCH, "torch.func vmap"),
            "first": first}


def run(mode, libs, wanted, log, keep=lambda wid: True):
    """Issue 16's workloads on the set-up libraries ``libs``; the record for the JSON."""
    cfg = CONFIG[mode]
    out = {"config": cfg, "tolerance": TOLERANCE, "cases": []}
    for case in func_cases(mode, keep):
        t0 = time.perf_counter()
        out["cases"].append(run_case(case, libs, wanted, cfg, log))
        log(f"  {case.title}: done in {time.perf_counter() - t0:.1f}s")
    return out


def problems(func):
    out = []
    for rec in func.get("cases", []):
        for e in rec["methods"]:
            if e.get("status") == "error":
                out.append(f"{rec['title']}: {e['row']} failed: {e.get('note')}")
            elif e.get("status") == "ok" and not e.get("agrees"):
                out.append(f"{rec['title']}: {e['row']} DISAGREES with lucid.func vmap: {e.get('note')}")
    return out


# --- text -------------------------------------------------------------------------------

def _ms(s):
    return "-" if s is None else f"{s * 1e3:.3f}"


def render(func):
    lines = ["Per-sample derivatives through vmap (issue 16): medians of repeated calls, ms; 1st call = a "
             "freshly built transform (jax.jit: trace + compile + run, after jax.clear_caches())"]
    for rec in func["cases"]:
        lines += ["", f"{rec['title']}: {rec['description']}",
                  f"{'row':<18}{'median':>11}{'IQR%':>7}{'1st call':>11}{'us/sample':>11}{'max|d| vs lucid':>17}  call"]
        for e in rec["methods"]:
            if e.get("status") != "ok":
                mark = "ERROR" if e.get("status") == "error" else "n/a"
                lines.append(f"{e['row']:<18}{mark:>11}{'':>7}{'':>11}{'':>11}{'':>17}  {e.get('note', '')}")
                continue
            iqr = f"{100 * e['iqr'] / e['median']:.0f}%" if e.get("median") else "-"
            per = e["median"] / rec["samples"] * 1e6
            d = "ref" if e["row"] == "lucid.func vmap" else (
                "-" if e.get("max_abs_diff") is None else f"{e['max_abs_diff']:.1e}")
            d += "" if e.get("agrees") else " !!"
            lines.append(f"{e['row']:<18}{_ms(e['median']):>11}{iqr:>7}{_ms(e['first_call']):>11}"
                         f"{per:>11.2f}{d:>17}  {e['api']}")
    lines += ["", target_table(func)]
    return "\n".join(lines)


def target_table(func):
    """Issue 16's targets per workload, as report.py's issue-15 table: '*' = missed."""
    head = (f"{'case':<6}{'lucid':>10}{'lucid 1st':>11}{'1st-steady':>12}{'1st [<10ms]':>13}{'jax.jit':>10}"
            f"{'lucid/jit [<=1.5]':>19}{'torch.func':>12}{'lucid/torch [<=0.2]':>21}{'jit 1st':>10}"
            f"{'|d| vs jax [<=1e-10]':>22}")
    lines = ["issue 16 targets: lucid.func vmap against jax.jit(vmap) and torch.func.vmap, steady medians "
             "in ms; 1st-steady = what the first call costs beyond a steady one; '*' = missed, "
             "'-' = not measured", head]
    counts = {True: 0, False: 0}
    unmeasured, reasons = [], []
    for rec in func["cases"]:
        T = rec["targets"]
        j, t, f = T["jit"], T["torch"], T["first"]
        jax_row = next((e for e in rec["methods"] if e["row"] == "jax jit(vmap)"), {})

        def cell(r):
            return "-" if r["ratio"] is None else f"{r['ratio']:.3g}" + ("" if r["meets"] else "*")
        first_cell = "-" if f["meets"] is None else ("met" if f["meets"] else "missed*")
        diff = jax_row.get("max_abs_diff")
        diff_cell = "-" if diff is None else f"{diff:.1e}" + ("" if jax_row.get("agrees") else " !!")
        extra = None if f["seconds"] is None else f["seconds"] - T["lucid_s"]
        lines.append(f"{rec['wid']:<6}{_ms(T['lucid_s']):>10}{_ms(f['seconds']):>11}{_ms(extra):>12}"
                     f"{first_cell:>13}{_ms(j.get('peer_s')):>10}{cell(j):>19}{_ms(t.get('peer_s')):>12}"
                     f"{cell(t):>21}{_ms(f['jit_first_s']):>10}{diff_cell:>22}")
        for name, r in (("vs jax.jit", j), ("vs torch.func", t), ("first call", f)):
            if r["meets"] is None:
                unmeasured.append(f"{rec['wid']} {name}")
                if r.get("why") and r["why"] not in reasons:
                    reasons.append(r["why"])
            else:
                counts[r["meets"]] += 1
    lines.append(f"issue 16 targets: {counts[True]} met, {counts[False]} missed, {len(unmeasured)} not measured "
                 "(speed is never asserted)"
                 + (f"; not measured: {', '.join(unmeasured)}" if unmeasured else "")
                 + "".join(f"; {r}" for r in reasons))
    return "\n".join(lines)
