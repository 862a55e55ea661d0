#!/usr/bin/env python3
"""Side-by-side Jacobian benchmark: Lucid vs PyTorch, JAX, HIPS autograd and CasADi.

    python benchmarks/bench.py            # full run (`make bench`), < 10 min on 2 cores
    python benchmarks/bench.py --quick    # one size per workload, about a minute
    python benchmarks/bench.py --quick --smoke   # `make test`: harness check, writes nothing
    python benchmarks/bench.py --sparse   # only the sparse workloads (issue 14, sparse.py)
    python benchmarks/bench.py --func     # only per-sample vmap(jacrev)/vmap(grad) (issue 16, func_bench.py)
    python benchmarks/bench.py --only W9,W10   # issue 19's two programs only (W9, W10)

Every workload of DESIGN.md (and issue 19's W9, W10) runs through every mode of Lucid (``lucid.tape`` included)
and of each installed peer, one after another in this one process: warm-up, adaptive
repeated timing (medians and IQR), and a check that each result equals Lucid's default
result. Then peak memory in child processes, the scaling series and the chunk_size
memory series. Prints the tables (issue 6's ratios, issue 15's tape targets) and writes
JSON and PNG charts (see benchmarks/README.md for how to read them).

Exit status: 0 when every method ran and agreed with Lucid; 1 when a result disagreed or
a method failed; 2 when the harness itself broke. Speed is never asserted.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import func_bench  # noqa: E402
import memprobe  # noqa: E402
import report  # noqa: E402
import sparse  # noqa: E402
from methods import LIBRARIES, setup_libraries  # noqa: E402
from timing import Timing, measure, quartiles  # noqa: E402
from workloads import chunk_memory_series, main_cases, scaling_series  # noqa: E402

TOLERANCE = {"float64": 1e-9, "float32": 1e-4}

# First calls (compile, record, symbolic build) are timed `first_repeats` times; one that
# takes over SLOW_FIRST seconds is timed once, and cheap ones (a tape's recording) are
# repeated up to CHEAP_REPEATS times while they add up to under CHEAP_FIRST seconds.
SLOW_FIRST = 1.0
CHEAP_FIRST = 0.01
CHEAP_REPEATS = 5

# A method whose first two calls each take longer than this (seconds) is timed once (its
# second call), not sampled: the full run must stay within minutes (`lucid.func.vmap`
# over W10's 10^5 observations takes about 15 s while it replays per observation). The
# first call alone does not decide: eager JAX compiles every op on it.
SLOW_CALL = 2.0

# Rows whose peak memory is measured (those a run has), per case.
MEMORY_ROWS = [
    ("lucid", "lucid default (loop)"), ("lucid", "lucid rev vec"),
    ("torch", "torch AF vec=False (default)"), ("torch", "torch AF vec=True"),
    ("torch", "torch.func jacrev"), ("hips", "hips autograd"),
]
CHUNK_ROWS = [
    ("lucid", "lucid default (loop)"), ("lucid", "lucid rev vec"),
    ("lucid", "lucid rev vec chunk"), ("lucid", "lucid fwd chunk"),
    ("torch", "torch AF vec=False (default)"), ("torch", "torch AF vec=True"),
]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one size per workload, short timings")
    p.add_argument("--smoke", action="store_true",
                   help="harness check for `make test`: tiny budgets, results to a temporary "
                        "directory (removed), optional libraries skipped when missing")
    p.add_argument("--out", help="directory for JSON and charts (default benchmarks/results)")
    p.add_argument("--budget", type=float, help="seconds of timing per method (main table)")
    p.add_argument("--only", help="comma-separated workload ids to run, e.g. W2,W5")
    p.add_argument("--libraries", default="lucid,torch,jax,hips,asdex,casadi,scipy",
                   help="comma-separated libraries (lucid is always included); asdex and scipy "
                        "take part in the sparse workloads only")
    p.add_argument("--sparse", action="store_true",
                   help="run only the sparse workloads W7, W8, W3s-W5s (issue 14); the default "
                        "run includes them after the dense ones")
    p.add_argument("--no-sparse", action="store_true", help="skip the sparse workloads")
    p.add_argument("--func", action="store_true",
                   help="run only issue 16's per-sample workloads VJ (vmap(jacrev) of W2 over 1 000 "
                        "inputs) and VG (vmap(grad) over 10 000 samples); the default run includes them")
    p.add_argument("--no-func", action="store_true", help="skip issue 16's per-sample workloads")
    p.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    p.add_argument("--slowpaths", action="store_true",
                   help="only issue 19's slow paths against NumPy / separate leaves (benchmarks/slowpaths.py)")
    p.add_argument("--no-series", action="store_true", help="skip the scaling and chunk series")
    p.add_argument("--render", metavar="JSON",
                   help="run nothing: re-print the tables of a results JSON and redraw its charts "
                        "beside it")
    return p.parse_args(argv)


def machine_info():
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cores": os.cpu_count(),
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "loadavg_start": os.getloadavg(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "?")
        with open("/proc/meminfo") as fh:
            kb = int(next(ln.split()[1] for ln in fh if ln.startswith("MemTotal")))
            info["memory_gib"] = round(kb / 2**20, 1)
    except OSError:
        pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                            capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "RAYON_NUM_THREADS"):
        if os.environ.get(var):
            info.setdefault("env", {})[var] = os.environ[var]
    return info


def max_rel_err(blocks, ref):
    """max |a - r| / max |r| over all blocks (relative to the largest reference entry)."""
    if len(blocks) != len(ref):
        return math.inf, f"{len(blocks)} blocks, Lucid has {len(ref)}"
    worst = 0.0
    for b, r in zip(blocks, ref):
        if b.shape != r.shape:
            return math.inf, f"shape {b.shape}, Lucid's is {r.shape}"
        scale = max(float(np.max(np.abs(r))) if r.size else 0.0, 1e-300)
        diff = float(np.max(np.abs(b.astype(np.float64) - r.astype(np.float64)))) if r.size else 0.0
        if not math.isfinite(diff):
            return math.inf, "non-finite values"
        worst = max(worst, diff / scale)
    return worst, ""


def max_abs_diff(blocks, ref):
    """max |a - r| over all blocks (same shapes: ``max_rel_err`` has checked them)."""
    return max((float(np.max(np.abs(b.astype(np.float64) - r.astype(np.float64)))) if r.size else 0.0
                for b, r in zip(blocks, ref)), default=0.0)


def first_calls(lib, method, repeats):
    """Time the first calls of ``repeats`` fresh (not yet compiled, recorded or built)
    calls, caches cleared before each: fewer when slow, more when cheap (see SLOW_FIRST);
    returns (median seconds, [seconds], (seconds, result, call) of the last)."""
    times, last = [], None
    while len(times) < repeats or (len(times) < CHEAP_REPEATS and sum(times) < CHEAP_FIRST):
        if hasattr(lib, "clear_caches"):
            lib.clear_caches()
        call = method.fresh()
        t0 = time.perf_counter()
        res = call()
        t = time.perf_counter() - t0
        times.append(t)
        last = (t, res, call)
        if t > SLOW_FIRST:
            break
    return float(np.median(times)), times, last


def run_case(case, libs, cfg, log):
    """Time every method of every library on ``case``; returns the case's record."""
    rec = {"title": case.title, "short": report.short_label(case), "params": case.params,
           "kind": case.kind, "dtype": case.dtype, "m": case.m, "n": case.n,
           "description": case.description, "notes": list(case.notes), "methods": []}
    ref = None
    tol = TOLERANCE[case.dtype]
    for lib in libs:
        if lib.name in case.skip:      # a library without this case (W9, W10: see workloads.py)
            rec["notes"].append(f"{lib.name}: {case.skip[lib.name]}")
            continue
        try:
            methods = lib.methods(case)
        except Exception as e:  # noqa: BLE001  (a peer's set-up failing is reported, not fatal)
            rec["methods"].append({"row": f"{lib.name} (set-up)", "library": lib.name, "status": "error",
                                   "note": f"{type(e).__name__}: {e}"})
            log(f"  !! {lib.name} set-up failed on {case.title}: {e}")
            continue
        for m in methods:
            entry = {"row": m.row, "library": m.library, "family": m.family, "api": m.api,
                     "default": m.default, "prepared": m.fresh is not None}
            rec["methods"].append(entry)
            if m.unsupported or m.row in case.skip:
                entry.update(status="unsupported", note=m.unsupported or case.skip[m.row])
                continue
            try:
                if m.fresh is not None:     # compiled, recorded or built: first call apart
                    med, times, (t, res, call) = first_calls(lib, m, cfg["first_repeats"])
                    entry["first_call"] = med
                    entry["first_call_samples"] = times
                    timing, res = measure(call, cfg["budget"], cfg["min_samples"], first=(t, res))
                else:
                    t0 = time.perf_counter()
                    res = m.call()
                    t = time.perf_counter() - t0
                    if t > SLOW_CALL:   # the first call may compile (eager JAX): time a second
                        t0 = time.perf_counter()
                        m.call()
                        t2 = time.perf_counter() - t0
                    if t > SLOW_CALL and t2 > SLOW_CALL:   # timed once (W10's vmap rows today)
                        timing = Timing(t2, t2, t2, 1, 1, t)
                        entry["timed_once"] = True
                        log(f"  {m.row} on {case.title}: a steady call takes {t2:.1f} s: timed once")
                    else:
                        timing, res = measure(m.call, cfg["budget"], cfg["min_samples"], first=(t, res))
                blocks = m.blocks(res)
            except Exception as e:  # noqa: BLE001
                optional = m.library == "lucid" and not m.default
                if optional and isinstance(e, (TypeError, ValueError, NotImplementedError)):
                    entry.update(status="unsupported", note=f"{type(e).__name__}: {e}")
                    log(f"  {m.row}: not supported here ({e})")
                else:
                    entry.update(status="error", note=f"{type(e).__name__}: {e}",
                                 traceback=traceback.format_exc(limit=4))
                    log(f"  !! {m.row} FAILED on {case.title}: {type(e).__name__}: {e}")
                continue
            entry.update(status="ok", **{k: v for k, v in timing.to_json().items()})
            if m.facts is not None:
                entry.update(m.facts())
            if entry.get("tape_records", 1) != 1:
                entry["note"] = f"the tape recorded {entry['tape_records']} times (replays should not record)"
                log(f"  !! {m.row} on {case.title}: {entry['note']}")
            dtypes = sorted({str(b.dtype) for b in blocks})
            entry["result_dtype"] = dtypes[0] if len(dtypes) == 1 else dtypes
            if m.library == "lucid" and m.default:
                ref = blocks
            if ref is None:
                entry.update(max_rel_err=None, agrees=False, note="no reference: Lucid's default call failed")
                continue
            err, why = max_rel_err(blocks, ref)
            entry["max_rel_err"] = err if math.isfinite(err) else None
            entry["agrees"] = err <= tol
            if case.abs_tol is not None and not why:     # issue 19: also |a - ref| <= 1e-10
                diff = max_abs_diff(blocks, ref)
                entry["max_abs_diff"] = diff
                if not diff <= case.abs_tol:
                    entry["agrees"] = False
                    why = f"max |diff| {diff:.3g} > {case.abs_tol:g}"
            if why or not entry["agrees"]:
                entry["note"] = (why + "; " if why else "") + f"max rel err {err:.3g} (tol {tol:g})"
                log(f"  !! {m.row} DISAGREES with Lucid on {case.title}: {entry['note']}")
            if entry["result_dtype"] != case.dtype:
                entry.setdefault("note", "")
                entry["note"] += f" result dtype {entry['result_dtype']} (workload is {case.dtype})"
    rec["ratios"] = report.ratios(rec)
    rec["tape_ratios"] = report.tape_ratios(rec)
    return rec


def run_memory(cases, libs, rows, log):
    """Peak memory of the listed rows on each case, each in its own child processes."""
    have = {lib.name for lib in libs}
    out = []
    for case in cases:
        entry = {"title": case.title, "short": report.short_label(case), "params": case.params,
                 "m": case.m, "n": case.n, "rows": {}}
        baselines = {}
        for lib_name, row in rows:
            if lib_name not in have:
                continue
            res = memprobe.peak_memory(case.params, lib_name, row, baselines)
            if res.get("error", "").startswith("no method"):
                continue  # this Lucid has no such mode
            entry["rows"][row] = res
            if "error" in res:
                log(f"  !! memory probe {row} on {case.title}: {res['error']}")
        out.append(entry)
        log(f"  memory {case.title}: " + ", ".join(
            f"{r}={v.get('first_call_mib', float('nan')):.1f}/{v.get('repeat_call_mib', float('nan')):.1f} MiB"
            for r, v in entry["rows"].items()))
    return out


def main(argv=None):
    args = parse_args(argv)
    if args.render:
        with open(args.render) as fh:
            results = json.load(fh)
        print(report.render(results))
        stem = os.path.splitext(os.path.basename(args.render))[0]
        for path in report.charts(results, os.path.dirname(os.path.abspath(args.render)), stem):
            print("wrote " + os.path.relpath(path))
        return 0
    if args.slowpaths:
        import slowpaths
        return slowpaths.main(["--quick"] if args.quick or args.smoke else [])
    quick = args.quick or args.smoke
    t_start = time.perf_counter()
    if args.smoke:
        cfg = {"budget": 0.02, "min_samples": 3, "first_repeats": 1, "series_budget": 0.01}
    elif quick:
        cfg = {"budget": 0.1, "min_samples": 5, "first_repeats": 1, "series_budget": 0.05}
    else:
        cfg = {"budget": 0.4, "min_samples": 7, "first_repeats": 3, "series_budget": 0.15}
    if args.budget:
        cfg["budget"] = args.budget

    def log(msg):
        print(msg, flush=True)

    notes = []
    libs = setup_libraries(LIBRARIES, [s.strip() for s in args.libraries.split(",") if s.strip()], notes)
    if not libs or libs[0].name != "lucid":
        raise RuntimeError("lucid is not importable: run `make build` first")
    mode = "smoke" if args.smoke else ("quick" if quick else "full")
    results = {"meta": machine_info(), "mode": mode, "config": cfg, "notes": notes,
               "libraries": {lib.name: getattr(lib, "version", "?") for lib in libs}}
    if any(lib.name == "torch" for lib in libs):
        results["libraries"]["torch_threads"] = libs[[l.name for l in libs].index("torch")].threads
    if args.smoke:   # no second-long CasADi SX builds of the MLPs in `make test`
        for lib in libs:
            if lib.name == "casadi":
                lib.sx_cap = 0
    lucid_lib = libs[0]
    results["lucid_modes"] = {k: [r for r, _, _ in lucid_lib.modes(k)] for k in ("jacobian", "hessian")}
    log(f"Lucid benchmark ({mode}): libraries {results['libraries']}")
    for n in notes:
        log(f"  note: {n}")

    only = {w.strip().upper() for w in args.only.split(",")} if args.only else None
    keep = (lambda c: only is None or c.params["wid"] in only)
    if args.sparse and args.no_sparse:
        raise SystemExit("--sparse and --no-sparse contradict each other")
    if args.func and args.no_func:
        raise SystemExit("--func and --no-func contradict each other")
    if args.func and args.sparse:
        raise SystemExit("--func and --sparse each select one part only: run them one after the other")
    dense_part = not (args.sparse or args.func)

    if dense_part:
        log("\n== main table ==")
    cases = [c for c in main_cases(quick, smoke=args.smoke) if keep(c)] if dense_part else []
    results["cases"] = []
    for case in cases:
        t0 = time.perf_counter()
        results["cases"].append(run_case(case, libs, cfg, log))
        log(f"  {case.title}: done in {time.perf_counter() - t0:.1f}s")

    results["series"] = {}
    results["chunk_memory"] = []
    # --quick skips the series (they need several sizes); --smoke runs two small points
    # of each, with tiny budgets, so that `make test` exercises every part of the harness.
    run_series = dense_part and not args.no_series and (mode != "quick")
    if dense_part and mode == "quick" and not args.no_series:
        notes.append("--quick: scaling and chunk_size series skipped (run `make bench` for them)")
    if run_series:
        log("\n== scaling series ==")
        scfg = dict(cfg, budget=cfg["series_budget"], min_samples=3, first_repeats=1)
        # CasADi stays out of the series: its symbolic builds grow with the size (W2 out=2048)
        series_libs = [lib for lib in libs if lib.name != "casadi"]
        for name, series in scaling_series(quick).items():
            if not keep(series[0]):
                continue
            results["series"][name] = []
            for case in series:
                t0 = time.perf_counter()
                results["series"][name].append(run_case(case, series_libs, scfg, log))
                log(f"  {case.title}: done in {time.perf_counter() - t0:.1f}s")

    results["memory"] = []
    if dense_part and not args.no_memory:
        log("\n== peak memory (child processes) ==")
        # W9 and W10 (issue 19) are timed only: their rows differ from the probes' rows
        mem_cases = ([c for c in cases if c.params["wid"] not in ("W9", "W10")] if mode == "full"
                     else [c for c in cases if c.params["wid"] == "W2"][:1])
        results["memory"] = run_memory(mem_cases, libs, MEMORY_ROWS, log)
        if run_series and keep(chunk_memory_series(quick)[0]):
            log("\n== chunk_size memory series (child processes) ==")
            results["chunk_memory"] = run_memory(chunk_memory_series(quick), libs, CHUNK_ROWS, log)

    if dense_part and not args.smoke and (only is None or "W4" in only) and hasattr(lucid_lib.lucid, "tape"):
        log("\n== a tape at many points (issue 15): W4, Tape.map, all cores vs one ==")
        import tape_many
        results["tape_many"] = tape_many.main(["--points", "10000" if mode == "full" else "2000",
                                               "--repeats", "5" if mode == "full" else "3"])

    func_keep = (lambda wid: only is None or wid in only)   # VJ, VG
    if not args.sparse and not args.no_func and any(func_keep(w) for w in func_bench.SIZES):
        log("\n== per-sample derivatives through vmap (issue 16) ==")
        results["func"] = func_bench.run(mode, libs, [s.strip() for s in args.libraries.split(",")],
                                         log, keep=func_keep)

    sparse_keep = (lambda wid: only is None or wid.upper() in only)   # W7, W8, W3S, W4S, W5S
    try:
        import scipy.sparse  # noqa: F401  (Lucid's sparse results are scipy arrays)
        have_scipy = True
    except ImportError:
        have_scipy = False
        if not args.no_sparse and not args.func:
            notes.append("sparse workloads skipped: SciPy is not installed (pip install scipy)")
    if (have_scipy and not args.no_sparse and not args.func
            and any(sparse_keep(c.params["wid"]) for c in sparse.sparse_cases(mode))):
        log("\n== sparse Jacobians (issue 14) ==")
        scfg = {"budget": cfg["budget"], "min_samples": cfg["min_samples"],
                "first_repeats": cfg["first_repeats"], "gc": not args.smoke}
        results["sparse"] = sparse.run(mode, scfg, [s.strip() for s in args.libraries.split(",")],
                                       log, keep=sparse_keep, memory=not args.no_memory)

    results["meta"]["loadavg_end"] = os.getloadavg()
    results["meta"]["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    problems = report.problems(results)
    results["problems"] = problems

    print()
    print(report.render(results))

    out_dir = args.out or (tempfile.mkdtemp(prefix="lucid-bench-") if args.smoke
                           else os.path.join(HERE, "results"))
    os.makedirs(out_dir, exist_ok=True)
    part = "func" if args.func else "sparse"
    stem = ("bench" if mode == "full" else mode) if dense_part else (
        part if mode == "full" else f"{mode}-{part}")
    charts = report.charts(results, out_dir, stem)
    json_path = os.path.join(out_dir, f"{stem}.json")
    with open(json_path, "w") as fh:
        json.dump(results, fh, indent=1, default=float)
    with open(json_path) as fh:
        json.load(fh)  # the file we wrote must read back
    with open(os.path.join(out_dir, f"{stem}-table.txt"), "w") as fh:
        fh.write(report.render(results) + "\n")
    written = [json_path] + charts
    if results.get("sparse"):
        md = os.path.join(out_dir, f"{stem}-sparse.md" if dense_part else f"{stem}.md")
        with open(md, "w") as fh:
            fh.write(sparse.render(results["sparse"]) + "\n")
        written.append(md)
    if args.smoke and not args.out:
        shutil.rmtree(out_dir, ignore_errors=True)
        log(f"smoke: wrote and re-read {', '.join(os.path.basename(p) for p in written)} "
            f"in a temporary directory (removed)")
    else:
        log("wrote " + ", ".join(os.path.relpath(p) for p in written))
    log(f"total {time.perf_counter() - t_start:.1f}s")
    if problems:
        log(f"\n!! {len(problems)} problem(s): see the list above; exit status 1")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("!! the benchmark harness itself failed (exit status 2)", file=sys.stderr)
        sys.exit(2)
