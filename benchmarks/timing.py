"""Adaptive repeated timing: warm-up, then samples of enough calls to be measurable.

A sample times ``inner`` back-to-back calls (chosen so that one sample lasts at least
``min_sample`` seconds, which keeps timer resolution and loop overhead negligible for
microsecond calls) and records the mean per call. Samples are taken until the time
budget is spent, with at least ``min_samples`` (3 when a single call is slower than a
third of the budget) and at most ``max_samples``. The median and the inter-quartile
range of the per-call times are reported.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass, asdict


@dataclass
class Timing:
    median: float          # seconds per call
    q25: float
    q75: float
    samples: int           # number of samples
    inner: int             # calls per sample
    first: float           # the warm-up (first) call, seconds

    @property
    def iqr(self):
        return self.q75 - self.q25

    def to_json(self):
        d = asdict(self)
        d["iqr"] = self.iqr
        return d


def quartiles(xs):
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


def measure(call, budget=0.4, min_samples=5, max_samples=200, min_sample=0.002, first=None):
    """Time ``call()``; returns (Timing, result of the first call).

    ``first``: an already-made first call as (seconds, result), e.g. a compiled method's
    first call timed separately; otherwise the warm-up call is made here.
    """
    gc.collect()
    if first is None:
        t0 = time.perf_counter()
        result = call()
        t_first = time.perf_counter() - t0
    else:
        t_first, result = first
    # more warm-up calls while they still get much faster (the first touch of a fresh
    # 128 MB result costs 100x a steady call on this VM); the fastest doubles as the
    # per-call estimate
    est = None
    for _ in range(5):
        t0 = time.perf_counter()
        call()
        t = max(time.perf_counter() - t0, 1e-9)
        settled = est is not None and t > est / 2
        est = t if est is None else min(est, t)
        if settled:
            break
    inner = max(1, int(min_sample / est))
    need = 3 if est > budget / 3 else min_samples
    per_call = []
    deadline = time.perf_counter() + budget
    while len(per_call) < need or (time.perf_counter() < deadline and len(per_call) < max_samples):
        t0 = time.perf_counter()
        for _ in range(inner):
            call()
        per_call.append((time.perf_counter() - t0) / inner)
    q25, med, q75 = quartiles(per_call)
    return Timing(med, q25, q75, len(per_call), inner, t_first), result
