"""Peak memory of one Jacobian call, measured in child processes.

tracemalloc and Python-level counters cannot see allocations made in Rust (Lucid) or
C++ (PyTorch), so memory is read from the kernel: the resident-set high-water mark
(VmHWM in /proc/self/status, the same figure as ru_maxrss) of a child process that
imports one library, builds the case's inputs and the method, and then

- ``baseline``: stops there;
- ``call``: runs the one call, then reads the high-water mark again. It also resets
  the mark (writing 5 to /proc/self/clear_refs, where the kernel allows it), runs the
  same call a second time and reports that call's own peak above the resident size
  just before it: the steady-state cost without one-time initialisation.

The parent reports ``first call = HWM(call child) - HWM(baseline child)`` and the
repeat-call transient. Children run with glibc's mmap threshold pinned
(MALLOC_MMAP_THRESHOLD_) so that large buffers go straight back to the kernel when
freed and the repeat measurement is not hidden by memory the allocator kept.

Run as a child: ``python memprobe.py '{"case": {...}, "library": "lucid", "row": "...",
"baseline": false}'``; it prints one JSON line.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _status_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def _reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def child(spec):
    sys.path.insert(0, HERE)
    from methods import LIBRARIES
    from workloads import make_case

    lib = LIBRARIES[spec["library"]]()
    lib.setup()
    case = make_case(spec["case"])
    methods = lib.methods(case)
    method = next((m for m in methods if m.row == spec.get("row")), None)
    gc.collect()
    out = {"hwm_setup_kb": _status_kb("VmHWM"), "rss_setup_kb": _status_kb("VmRSS")}
    if spec.get("baseline"):
        return out
    if method is None:
        return {"error": f"no method {spec['row']!r} in {spec['library']}"}
    t0 = time.perf_counter()
    result = method.call()
    out["first_s"] = time.perf_counter() - t0
    out["hwm_call_kb"] = _status_kb("VmHWM")
    del result
    gc.collect()
    repeat_peak(method.call, out)
    return out


def repeat_peak(call, out):
    """Time one more call and its resident-set peak above the current RSS into `out`
    (where the kernel lets the peak be reset)."""
    if _reset_hwm():
        rss0 = _status_kb("VmRSS")
        t0 = time.perf_counter()
        result = call()
        out["repeat_s"] = time.perf_counter() - t0
        out["repeat_peak_kb"] = _status_kb("VmHWM") - rss0
        del result


def run_script(script, args, timeout):
    """Run `script` with `args` in a child Python whose allocator returns memory
    eagerly (so peaks are the call's own), and return the JSON of its last `{` line or
    the CompletedProcess when there is none."""
    env = dict(os.environ)
    env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    env["MALLOC_TRIM_THRESHOLD_"] = "131072"
    env.setdefault("JAX_PLATFORMS", "cpu")
    return subprocess.run([sys.executable, os.path.abspath(script), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def run_child(spec, timeout=300):
    proc = run_script(__file__, [json.dumps(spec)], timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"child exited {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


def peak_memory(case_params, library, row, baselines=None):
    """Peak memory of one call in MiB: first call vs a baseline child, and repeat call.

    ``baselines`` caches the baseline child per library (it does not depend on the row:
    every child builds all of the library's methods for the case)."""
    baselines = {} if baselines is None else baselines
    if library not in baselines:
        baselines[library] = run_child({"case": case_params, "library": library, "row": row,
                                        "baseline": True})
    base = baselines[library]
    run = run_child({"case": case_params, "library": library, "row": row, "baseline": False})
    if "error" in base or "error" in run:
        return {"error": base.get("error") or run.get("error")}
    res = {
        "first_call_mib": (run["hwm_call_kb"] - base["hwm_setup_kb"]) / 1024.0,
        "first_call_s": run["first_s"],
    }
    if "repeat_peak_kb" in run:
        res["repeat_call_mib"] = run["repeat_peak_kb"] / 1024.0
        res["repeat_call_s"] = run["repeat_s"]
    return res


if __name__ == "__main__":
    try:
        print(json.dumps(child(json.loads(sys.argv[1]))))
    except Exception as e:  # noqa: BLE001  (reported to the parent as data)
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
