#!/usr/bin/env python3
"""Run one benchmark method in a loop, for a profiler to watch.

    .venv/bin/python benchmarks/profile_w2.py                      # W2 64-256-32, Lucid default, 10 s
    .venv/bin/python benchmarks/profile_w2.py --method "lucid rev vec" --seconds 20
    .venv/bin/python benchmarks/profile_w2.py --case '{"wid": "W5", "n": 100}' --method "lucid rev vec"
    .venv/bin/python benchmarks/profile_w2.py --list               # the case's method rows

    perf record -g --call-graph dwarf -o /tmp/perf.data -- \\
        .venv/bin/python benchmarks/profile_w2.py --seconds 5
    perf report -i /tmp/perf.data --no-children --percent-limit 1
    py-spy record --native -o /tmp/w2.svg -- .venv/bin/python benchmarks/profile_w2.py

The case and the method are the benchmark's own (benchmarks/workloads.py and
benchmarks/methods.py), so a profile explains exactly the number in the table. Set-up
happens before the loop; ``--seconds 0 --iterations N`` runs a fixed count instead. It
prints calls per second and the mean time per call at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from methods import LIBRARIES  # noqa: E402
from workloads import make_case  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--case", default='{"wid": "W2", "in": 64, "hidden": 256, "out": 32}',
                   help="workload parameters as JSON (see workloads.make_case)")
    p.add_argument("--library", default="lucid", choices=sorted(LIBRARIES))
    p.add_argument("--method", default="lucid default (loop)", help="table row name")
    p.add_argument("--seconds", type=float, default=10.0, help="loop for this long")
    p.add_argument("--iterations", type=int, default=0, help="or this many calls (with --seconds 0)")
    p.add_argument("--list", action="store_true", help="list the method rows and exit")
    args = p.parse_args(argv)

    lib = LIBRARIES[args.library]()
    lib.setup()
    case = make_case(json.loads(args.case))
    methods = {m.row: m for m in lib.methods(case)}
    if args.list:
        print("\n".join(methods))
        return 0
    if args.method not in methods:
        print(f"no method {args.method!r} for {args.library}; have: {', '.join(methods)}", file=sys.stderr)
        return 2
    call = methods[args.method].call
    call()  # warm-up (and, for compiled methods, the compile)
    print(f"profiling {case.title} / {args.method} (pid {os.getpid()})", flush=True)
    calls, t0 = 0, time.perf_counter()
    if args.seconds > 0:
        deadline = t0 + args.seconds
        while time.perf_counter() < deadline:
            for _ in range(10):
                call()
            calls += 10
    else:
        for _ in range(max(1, args.iterations)):
            call()
        calls = max(1, args.iterations)
    dt = time.perf_counter() - t0
    print(f"{calls} calls in {dt:.2f} s: {calls / dt:.0f} calls/s, {1e3 * dt / calls:.4f} ms per call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
