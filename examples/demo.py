"""Lucid demo: exact Jacobians doing real work.

1. Newton's method on a nonlinear system (steady state of a chemical reaction network
   with conservation laws). Each iteration takes F and J from one call,
   ``value_and_jacobian``. The residual is recorded once with ``lucid.tape`` and the
   loop replays it and its Jacobian in Rust; the eager
   ``lucid.autograd.value_and_jacobian`` loop runs beside it, gives the same iterates
   and Jacobians bit for bit, and both are timed.
2. The Jacobian of a 2-link robot arm's forward kinematics, checked against the
   closed form, and used for inverse kinematics (damped least squares), on a tape too.
3. The Hessian of the Rosenbrock function, checked against the closed form.
4. A sparse Jacobian with 10^5 unknowns (``jacobian(..., sparse=True)``), spot-checked
   column by column and row by row against ``jvp`` and ``vjp``.

Every result is checked; the script exits non-zero if any check fails.
"""

from __future__ import annotations

import statistics
import sys
import textwrap
import time

import numpy as np

import lucid
from lucid.autograd import hessian, jacobian, jvp, sparsity, value_and_jacobian, vjp

failures = []


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"  [{'ok' if ok else 'FAILED'}] {name}{(': ' + detail) if detail else ''}")
    if not ok:
        failures.append(name)


def per_call(fn, number: int = 50, repeat: int = 5) -> float:
    """Seconds per call of ``fn()``: the median over ``repeat`` runs of ``number`` calls."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - t0) / number)
    return statistics.median(runs)


def against_eager(label: str, run, func, tape) -> None:
    """Run the loop ``run(FJ_of) -> (final point, Jacobians)``, where ``FJ_of(x)`` gives
    ``(f(x), J(x))`` from one call, on the tape and eagerly: identical Jacobians at
    every iterate, the time per iteration both ways, and the function recorded once."""
    eager = lambda x: value_and_jacobian(func, x)
    x, Js = run(tape.value_and_jacobian)
    x_eager, Js_eager = run(eager)
    check("tape and eager Jacobians are identical at every iterate",
          len(Js) == len(Js_eager) and all(np.array_equal(a, b) for a, b in zip(Js, Js_eager))
          and np.array_equal(x.numpy(), x_eager.numpy()), f"{len(Js)} iterates, np.array_equal")
    per_tape = per_call(lambda: run(tape.value_and_jacobian)) / len(Js)
    per_eager = per_call(lambda: run(eager)) / len(Js)
    print(f"   {label}: tape {per_tape * 1e6:.1f} µs, eager {per_eager * 1e6:.1f} µs"
          f" (eager/tape {per_eager / per_tape:.2f}); records = {tape.records}")
    check(f"{func.__name__} was recorded once", tape.records == 1, f"{tape.replays} replays")


# --------------------------------------------------------------------------------------
print("1. Newton's method: steady state of A + B <-> C, C + B <-> D (mass-action kinetics)")
k1, k1r, k2, k2r = 2.0, 0.5, 1.5, 0.3
A0, B0 = 1.0, 2.0  # totals conserved: A + C + D = A0, B + C + 2D = B0


def residual(c):
    a, b, cc, d = c[0], c[1], c[2], c[3]
    r1 = k1 * a * b - k1r * cc  # net rate of reaction 1
    r2 = k2 * cc * b - k2r * d  # net rate of reaction 2
    return lucid.stack([
        r1 - r2,                      # dC/dt = 0
        r2,                           # dD/dt = 0
        a + cc + d - A0,              # conservation of A
        b + cc + 2 * d - B0,          # conservation of B
    ])


def newton(FJ_of, c):
    """Newton's method from c: the root, the residual norm and the Jacobian at each
    iterate. ``FJ_of(c)`` is ``(F(c), J(c))`` from one call of the residual."""
    norms, Js = [], []
    for _ in range(30):
        F, J = FJ_of(c)
        F, J = F.numpy(), J.numpy()  # J: (4, 4), exact
        c = lucid.tensor(c.numpy() - np.linalg.solve(J, F))
        norms.append(float(np.linalg.norm(F)))
        Js.append(J)
        if norms[-1] < 1e-14:
            break
    return c, norms, Js


c0 = lucid.tensor(np.array([0.5, 1.0, 0.3, 0.2]))
tape = lucid.tape(residual, c0)  # runs residual once and records it
c, norms, Js = newton(tape.value_and_jacobian, c0)  # replays: residual's Python never runs again
for it, norm in enumerate(norms):
    print(f"   iter {it}: |F| = {norm:.3e}")
final = np.linalg.norm(residual(c).numpy())
print(f"   concentrations [A, B, C, D] = {np.round(c.numpy(), 10)}")
check("Newton converged quadratically to |F| < 1e-12", final < 1e-12, f"|F| = {final:.2e} after {len(norms)} iterations")

against_eager("per Newton iteration", lambda FJ_of: newton(FJ_of, c0)[::2], residual, tape)

# --------------------------------------------------------------------------------------
print("\n2. Robot arm: Jacobian of the forward kinematics of a 2-link planar arm")
l1, l2 = 1.0, 0.7


def tip(theta):
    t1, t12 = theta[0], theta[0] + theta[1]
    return lucid.stack([l1 * t1.cos() + l2 * t12.cos(), l1 * t1.sin() + l2 * t12.sin()])


theta = lucid.tensor(np.array([0.4, 1.1]))
J = jacobian(tip, theta, vectorize=True)
t1, t2 = theta.numpy()
closed = np.array([
    [-l1 * np.sin(t1) - l2 * np.sin(t1 + t2), -l2 * np.sin(t1 + t2)],
    [l1 * np.cos(t1) + l2 * np.cos(t1 + t2), l2 * np.cos(t1 + t2)],
])
print("   J(theta) =\n" + textwrap.indent(np.array2string(J.numpy(), precision=6), "   "))
err = np.abs(J.numpy() - closed).max()
check("Jacobian equals the closed form", err < 1e-15, f"max error {err:.1e}")

target = np.array([0.9, 1.0])
lam = 1e-3


def inverse_kinematics(tipJ_of, theta):
    """Damped least squares from theta: the joint angles and the Jacobian at each
    iterate. ``tipJ_of(theta)`` is ``(tip(theta), J(theta))`` from one call of tip."""
    Js = []
    for _ in range(50):
        tip_now, Jt = tipJ_of(theta)
        e = target - tip_now.numpy()
        if np.linalg.norm(e) < 1e-12:
            break
        Jn = Jt.numpy()
        Js.append(Jn)
        dtheta = Jn.T @ np.linalg.solve(Jn @ Jn.T + lam * np.eye(2), e)
        theta = lucid.tensor(theta.numpy() + dtheta)
    return theta, Js


tip_tape = lucid.tape(tip, theta)
theta0 = theta
theta, Js = inverse_kinematics(tip_tape.value_and_jacobian, theta0)
reached = tip(theta).numpy()
print(f"   inverse kinematics: joint angles {np.round(theta.numpy(), 6)} reach {np.round(reached, 9)}")
check("inverse kinematics reached the target", np.linalg.norm(reached - target) < 1e-9,
      f"{len(Js)} iterations, error {np.linalg.norm(reached - target):.1e}")

against_eager("per iteration", lambda FJ_of: inverse_kinematics(FJ_of, theta0), tip, tip_tape)

# --------------------------------------------------------------------------------------
print("\n3. Hessian of the Rosenbrock function sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2")


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


x = lucid.tensor(np.linspace(-1.0, 1.5, 6))
H = hessian(rosenbrock, x).numpy()
xn = x.numpy()
n = xn.size
Hc = np.zeros((n, n))
for i in range(n - 1):
    Hc[i, i] += 1200 * xn[i] ** 2 - 400 * xn[i + 1] + 2
    Hc[i + 1, i + 1] += 200
    Hc[i, i + 1] += -400 * xn[i]
    Hc[i + 1, i] += -400 * xn[i]
err = np.abs(H - Hc).max() / np.abs(Hc).max()
print(f"   H diagonal: {np.round(np.diag(H), 4)}")
check("Hessian equals the closed form", err < 1e-14, f"max relative error {err:.1e}")

# --------------------------------------------------------------------------------------
n = 100_000
print(f"\n4. Sparse Jacobian of a 1-D stencil x[i-1] - 2 x[i] + x[i+1] + x[i]^3, n = {n:,}")


def stencil(x):
    zero = lucid.zeros(1, dtype=lucid.float64)
    return lucid.cat([zero, x[:-1]]) - 2 * x + lucid.cat([x[1:], zero]) + x ** 3


import scipy.sparse  # loaded now, so that the first call below times Lucid alone

x = lucid.tensor(np.linspace(0.0, 1.0, n))
t0 = time.perf_counter()
J = jacobian(stencil, x, sparse=True)  # scipy.sparse.csr_array (n, n): dense would be 80 GB
first = time.perf_counter() - t0
t0 = time.perf_counter()
J = jacobian(stencil, x, sparse=True)  # pattern and colouring now cached
repeat = time.perf_counter() - t0
pattern = sparsity(stencil, x)
print(f"   {pattern.nnz} nonzeros, {pattern.colors} colours ({pattern.direction}):"
      f" first call {first * 1e3:.1f} ms, repeated {repeat * 1e3:.1f} ms")
err = 0.0
for k in (0, n // 2, n - 1):
    unit = np.zeros(n)
    unit[k] = 1.0
    _, column = jvp(stencil, x, lucid.tensor(unit))
    _, (row,) = vjp(stencil, x, lucid.tensor(unit))
    err = max(err, np.abs(J[:, [k]].toarray().ravel() - column.numpy()).max(),
              np.abs(J[[k], :].toarray().ravel() - row.numpy()).max())
check("columns and rows 0, n/2, n-1 equal jvp and vjp", err < 1e-14, f"max difference {err:.1e}")

print()
if failures:
    print(f"{len(failures)} check(s) FAILED: {', '.join(failures)}")
    sys.exit(1)
print("All checks passed.")
