"""Issue 19's three slow paths, each timed against the same arithmetic done another way.

    python benchmarks/slowpaths.py            # every case, about half a minute
    python benchmarks/slowpaths.py --quick    # fewer repeats
    python benchmarks/slowpaths.py --only gather

1. A 2-D matrix times a batch (`W @ Tb`), its reverse and forward derivatives as a
   forward-mode Jacobian of `W @ T(theta)` uses them; reference: NumPy's batched matmul.
2. Row gathers (`V[idx]`, `index_select`, `gather`), the scatter-add of rows (the VJP)
   and the gather of a batch of tangents (the JVP); reference: NumPy fancy indexing,
   `np.add.at` and a bincount per column (the faster of the two).
3. A 3-row Jacobian through the 11 row slices `C[k]` of one (11, 31843) leaf;
   reference: the same function of 11 separate (31843,) leaves.

Each case prints the medians of repeated runs (Lucid and reference timed alternately,
so a busy machine slows both alike), and lucid / reference. Targets: ratio <= 1.5.
Only the standard library, NumPy and Lucid are needed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import lucid


def _per_call(fn, inner):
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def compare(fn_a, fn_b, repeats):
    """Medians (seconds per call) of `fn_a` and `fn_b`, sampled alternately."""
    fn_a(), fn_b()  # warm-up (first calls allocate, plan, fill caches)
    one = max(_per_call(fn_a, 1), _per_call(fn_b, 1), 1e-6)
    inner = max(1, int(0.02 / one))  # samples of about 20 ms
    a, b = [], []
    for _ in range(repeats):
        a.append(_per_call(fn_a, inner))
        b.append(_per_call(fn_b, inner))
    return statistics.median(a), statistics.median(b)


def matmul_cases(rng):
    W = rng.standard_normal((10000, 22))
    Tb = rng.standard_normal((26, 22, 12))
    G = rng.standard_normal((26, 10000, 12))
    Wl, Tbl, Gl = lucid.tensor(W), lucid.tensor(Tb), lucid.tensor(G)
    yield "W @ Tb  (10000x22 @ 26x22x12)", (lambda: Wl @ Tbl), (lambda: np.matmul(W, Tb))

    # reverse: the cotangent of Tb for a batch of cotangents of W @ Tb is W^T @ G
    Tr = lucid.tensor(Tb, requires_grad=True)
    y = Wl @ Tr
    yield ("VJP of W @ Tb in Tb  (W^T @ G)",
           lambda: lucid.autograd.grad(y, Tr, Gl, retain_graph=True),
           lambda: np.matmul(W.T, G))

    # forward mode: theta (26,) -> T(theta) (22, 12) -> W @ T; tangents of W @ T are W @ dT
    B = rng.standard_normal((26, 22 * 12))
    Bl = lucid.tensor(B)
    theta = lucid.tensor(rng.standard_normal(26))

    def f(th):
        return Wl @ (th @ Bl).reshape(22, 12)

    def ref():
        dT = B.reshape(26, 22, 12)
        return np.ascontiguousarray(np.matmul(W, dT).reshape(26, -1).T)

    yield ("jacobian(theta -> W @ T(theta)), forward", lambda: lucid.autograd.jacobian(f, theta, strategy="forward-mode"),
           ref)


def gather_cases(rng):
    V = rng.standard_normal((10000, 3))
    idx = rng.integers(0, 10000, 51200)
    Vl, il = lucid.tensor(V), lucid.tensor(idx)
    yield "V[idx]  (10000x3, 51200 int64)", (lambda: Vl[il]), (lambda: V[idx])
    yield "V.index_select(0, idx)", (lambda: Vl.index_select(0, il)), (lambda: np.take(V, idx, axis=0))
    idx2 = np.repeat(idx[:, None], 3, axis=1)
    il2 = lucid.tensor(idx2)
    yield "V.gather(0, idx[:, None].expand(-1, 3))", (lambda: Vl.gather(0, il2)), \
        (lambda: np.take_along_axis(V, idx2, axis=0))
    i32 = idx.astype(np.int32)
    il32 = lucid.tensor(i32) if hasattr(lucid, "int32") else None
    if il32 is not None:
        yield "V[idx32]  (int32 indices)", (lambda: Vl[il32]), (lambda: V[i32])

    G = rng.standard_normal((51200, 3))
    Gl = lucid.tensor(G)
    Vr = lucid.tensor(V, requires_grad=True)
    y = Vr[il]

    def scatter_ref():
        # the faster NumPy scatter-add of rows: a bincount per column
        return np.stack([np.bincount(idx, G[:, j], minlength=10000) for j in range(3)], axis=1)

    yield "VJP of V[idx]  (scatter-add of 51200 rows)", \
        (lambda: lucid.autograd.grad(y, Vr, Gl, retain_graph=True)), scatter_ref

    k = 26
    Tb = rng.standard_normal((k, 10000, 3))
    Tbl = lucid.tensor(Tb)
    yield f"Tb[:, idx]  ({k}x10000x3 tangents gathered)", (lambda: Tbl[:, il]), (lambda: Tb[:, idx])

    # forward mode: the gather's JVP runs once on the (26, 10000, 3) tangent batch
    B = rng.standard_normal((k, 30000))
    Bl = lucid.tensor(B)
    theta = lucid.tensor(rng.standard_normal(k))

    def f(th):
        return (th @ Bl).reshape(10000, 3)[il]

    def ref():
        return np.ascontiguousarray(B.reshape(k, 10000, 3)[:, idx].reshape(k, -1).T)

    yield "jacobian(theta -> V(theta)[idx]), forward", \
        (lambda: lucid.autograd.jacobian(f, theta, strategy="forward-mode")), ref


def sliced_leaf_cases(rng):
    n, parts = 31843, 11
    C = rng.uniform(0.5, 1.5, (parts, n))
    w = rng.standard_normal((3, n))
    wl = lucid.tensor(w)

    def f_of(rows):
        p = rows[0]
        for r in rows[1:]:
            p = p * r
        return lucid.stack([(p * wl[j]).sum() for j in range(3)])

    Cl = lucid.tensor(C)
    cs = tuple(lucid.tensor(C[k]) for k in range(parts))
    one = lambda M: f_of([M[k] for k in range(parts)])  # noqa: E731
    sep = lambda *rows: f_of(list(rows))  # noqa: E731
    jac = lucid.autograd.jacobian
    yield "jacobian through 11 slices of one leaf (reverse)", \
        (lambda: jac(one, Cl, strategy="reverse-mode")), (lambda: jac(sep, cs, strategy="reverse-mode"))
    yield "  same, vectorize=True", \
        (lambda: jac(one, Cl, vectorize=True)), (lambda: jac(sep, cs, vectorize=True))
    yield "  same, create_graph=True", \
        (lambda: jac(one, Cl, create_graph=True)), (lambda: jac(sep, cs, create_graph=True))


GROUPS = {"matmul": matmul_cases, "gather": gather_cases, "slices": sliced_leaf_cases}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats")
    p.add_argument("--only", help="comma-separated groups: " + ",".join(GROUPS))
    args = p.parse_args(argv)
    repeats = 5 if args.quick else 15
    groups = [g.strip() for g in args.only.split(",")] if args.only else list(GROUPS)
    rng = np.random.default_rng(0)
    print(f"{'case':<52} {'lucid':>10} {'reference':>10} {'ratio':>7}")
    worst = 0.0
    for g in groups:
        if g not in GROUPS:
            raise SystemExit(f"--only: unknown group {g!r}; choose from {', '.join(GROUPS)}")
        for name, fn, ref in GROUPS[g](rng):
            a, b = compare(fn, ref, repeats)
            worst = max(worst, a / b)
            print(f"{name:<52} {a * 1e3:>8.3f}ms {b * 1e3:>8.3f}ms {a / b:>7.2f}", flush=True)
    print(f"worst ratio {worst:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
