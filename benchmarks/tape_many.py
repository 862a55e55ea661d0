"""Issue 15's many-point target: W4's Jacobian at 10 000 points through
``Tape.map`` on all cores against the same call on one core (``LUCID_NUM_THREADS=1``,
which keeps all work on the calling thread), each in a fresh process, medians of
repeated runs. Target: at least 1.7x on this 2-core machine.

    .venv/bin/python benchmarks/tape_many.py [--points N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
import lucid
n, points, repeats = 50, int(sys.argv[1]), int(sys.argv[2])
def w4(a, b):
    return a * b, (a[:, None] * b[None, :]).sum(0)
rng = np.random.default_rng(0)
pts = [(lucid.tensor(rng.normal(size=n)), lucid.tensor(rng.normal(size=n))) for _ in range(points)]
t = lucid.tape(w4, pts[0])
t.map("jacobian", pts[:200])  # warm: helpers started, caches hot
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    t.map("jacobian", pts)
    times.append(time.perf_counter() - t0)
loop = []
for _ in range(repeats):
    t0 = time.perf_counter()
    for p in pts:
        t.jacobian(p)
    loop.append(time.perf_counter() - t0)
print(json.dumps({"map": times, "loop": loop, "records": t.records}))
"""


def run(points, repeats, threads):
    env = dict(os.environ)
    if threads:
        env["LUCID_NUM_THREADS"] = str(threads)
    else:
        env.pop("LUCID_NUM_THREADS", None)
    out = subprocess.run([sys.executable, "-c", CHILD, str(points), str(repeats)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--points", type=int, default=10_000)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    one = run(args.points, args.repeats, 1)
    all_cores = run(args.points, args.repeats, 0)
    m1, ma = statistics.median(one["map"]), statistics.median(all_cores["map"])
    loop = statistics.median(all_cores["loop"])
    speedup = m1 / ma
    print(f"W4 Jacobians at {args.points} points (median of {args.repeats}):")
    print(f"  Tape.map, 1 thread       {m1 * 1e3:8.1f} ms  ({m1 / args.points * 1e6:.1f} us per point)")
    print(f"  Tape.map, all cores      {ma * 1e3:8.1f} ms  ({ma / args.points * 1e6:.1f} us per point)")
    print(f"  t.jacobian in a loop     {loop * 1e3:8.1f} ms  ({loop / args.points * 1e6:.1f} us per point)")
    mark = "" if speedup >= 1.7 else " *"
    print(f"  all cores / 1 thread: {speedup:.2f}x (target >= 1.7x){mark}")
    return {"points": args.points, "one_thread_s": m1, "all_cores_s": ma, "loop_s": loop, "speedup": speedup}


if __name__ == "__main__":
    main()
