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


import gc
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import report  # noqa: E402
from sparse_methods import ROW_ORDER, SPARSE_LIBRARIES, _methods, setup_libraries  # noqa: E402
from sparse_workloads import make_sparse_case, memory_cases, rel_err, sparse_cases  # noqa: E402
from timing import measure  # noqa: E402

TOL_AD = 1e-9                # max|a - ref| / max|ref| for every AD method
TOL_FD = 1e-5                # SciPy's 2-point differences (truncation error ~1e-8 here)


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
                for _ in range(1 if m.shares_build else cfg["first_repeats"]):
                    last = None
                    if cfg.get("gc", True):     # (30 ms with JAX loaded: not in --smoke)
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
            if m.shares_build:
                e.update(first_call=None, note=f"built by '{m.shares_build}' (its first call)")
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
            "first": lu["first_call"] / e["first_call"] if e.get("first_call") else None,
        }
    return out


# --- memory (child processes) -------------------------------------------------------------

def probe(spec):
    """Child: set up one library, build the case, then the cold first call of the
    library's main row and one repeat call; report time and resident-set peaks."""
    from memprobe import _status_kb, repeat_peak
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
    repeat_peak(call, out)
    return out


def run_probe(spec, timeout=600):
    from memprobe import run_script
    try:
        proc = run_script(__file__, ["--probe", json.dumps(spec)], timeout)
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


def _lucid_build(lucid):
    """Which Lucid ran: its path and the time its extension was built (the .venv of main
    is rebuilt while others work; a run against a copy says so here)."""
    import datetime as _dt
    import glob
    here = os.path.dirname(lucid.__file__)
    ext = sorted(glob.glob(os.path.join(here, "_core*.so")) + glob.glob(os.path.join(here, "_core*.pyd")))
    built = (_dt.datetime.fromtimestamp(os.path.getmtime(ext[0])).isoformat(timespec="seconds")
             if ext else "?")
    return {"path": here, "extension_built": built}


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
           "lucid_build": _lucid_build(libs[0].lucid),
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
            parts.append(f"in-process 1st call {_fmt(lu['first_call'])}, steady {_fmt(lu['median'])}")
            met = met and lu["first_call"] <= 1.5
        out.append({"target": f"{label}: Lucid peak RSS < 1 GiB, and about a second "
                              "(cold first call <= 1.5 s)",
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
    mark = report.status_mark(e)
    if mark is not None:
        return mark
    iqr = 100 * e["iqr"] / e["median"] if e.get("median") else 0
    return f"{_fmt(e['median'])} ±{iqr:.0f}%" + ("" if e.get("agrees") else " !!")


def render(sparse):
    lines = ["## Sparse Jacobians (issue 14)", ""]
    lines.append("Libraries: " + ", ".join(f"{k} {v}" for k, v in sparse["libraries"].items()))
    if sparse.get("lucid_build"):
        b = sparse["lucid_build"]
        lines.append(f"Lucid from {b['path']}, extension built {b['extension_built']}")
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
                cells.append(_fmt(e.get("first_call")) if e and e.get("status") == "ok"
                             and e.get("first_call") else "")
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
                cells = [f"{r['ratios']['peers'][p]['first']:.3g}"
                         if r["ratios"]["peers"].get(p, {}).get("first") else "" for r in recs]
                if any(cells):
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
