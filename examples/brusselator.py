"""A stiff ODE integrated with an exact sparse Jacobian: the 1-D Brusselator.

The Brusselator with diffusion (Hairer & Wanner, *Solving ODEs II*, section IV.1) is
the classic test of a stiff solver that needs a sparse Jacobian. On N interior points
x_i = i / (N + 1) of [0, 1], with c = alpha (N + 1)^2,

    u_i' = A + u_i^2 v_i - (B + 1) u_i + c (u_{i-1} - 2 u_i + u_{i+1})
    v_i' = B u_i - u_i^2 v_i           + c (v_{i-1} - 2 v_i + v_{i+1})

for i = 1..N, with Dirichlet boundary u_0 = u_{N+1} = 1, v_0 = v_{N+1} = 3, initial
values u_i(0) = 1 + sin(2 pi x_i), v_i(0) = 3, and A = 1, B = 3, alpha = 1/50, up to
t = 10. The state is y = [u_1..u_N, v_1..v_N].

Why it is stiff: the diffusion term has eigenvalues down to about -4c (-20 000 for
N = 500), while the solution moves on a time scale of 1, so an explicit method would
need ~10^5 steps. An implicit method (BDF) takes large steps but solves a Newton system
with the Jacobian I - h*gamma*J at every step.

Why sparse matters: J has 2N x 2N entries (10^6 for N = 500) but only about 8N are
nonzero -- each u_i couples to its two neighbours and to v_i, and likewise v_i. With a
sparse J, SciPy's BDF uses a sparse LU (nearly linear cost instead of cubic), and Lucid
computes J in a handful of compressed sweeps: columns that share no row get the same
colour and one tangent, so the number of sweeps is the number of colours (about 6),
not 2N. The pattern and the colouring are read from the recorded graph once and
cached, so each later Jacobian costs only those sweeps.

The right-hand side is written once, with Lucid ops (slices and ``cat`` give the
neighbours), and serves both runs: Lucid's exact sparse Jacobian (``jac=``) and SciPy's
finite-difference Jacobian on the same pattern (``jac_sparsity=``); a third run without
a pattern (dense finite differences, dense LU) shows what sparsity saves. The script checks
that Lucid's pattern equals the one built by hand, that its Jacobian equals the closed
form, and that the two runs end at the same solution; it exits non-zero otherwise.

    python examples/brusselator.py [--n 500]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import scipy.sparse as sp
from scipy.integrate import solve_ivp
from scipy.optimize._numdiff import group_columns  # SciPy's own column colouring, for comparison

import lucid
from lucid.autograd import jacobian, sparsity

A, B, ALPHA, T_END = 1.0, 3.0, 1.0 / 50.0, 10.0
U_BOUNDARY, V_BOUNDARY = 1.0, 3.0
RTOL, ATOL = 1e-6, 1e-8

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--n", type=int, default=500, help="interior grid points (2n unknowns)")
N = parser.parse_args().n
c = ALPHA * (N + 1) ** 2


def second_difference(w, boundary):
    """w_{i-1} - 2 w_i + w_{i+1}, with the Dirichlet value beyond both ends."""
    edge = lucid.full((1,), boundary, dtype=lucid.float64)
    left = lucid.cat([edge, w[:-1]])
    right = lucid.cat([w[1:], edge])
    return left - 2 * w + right


def brusselator(y):
    """The right-hand side y' = f(y), as a Lucid function of the whole state."""
    u, v = y[:N], y[N:]
    reaction = u * u * v
    du = A + reaction - (B + 1) * u + c * second_difference(u, U_BOUNDARY)
    dv = B * u - reaction + c * second_difference(v, V_BOUNDARY)
    return lucid.cat([du, dv])


rhs_calls = 0


def rhs(t, y):
    """f for SciPy: ndarray in, ndarray out, evaluated by Lucid."""
    global rhs_calls
    rhs_calls += 1
    return brusselator(lucid.tensor(y)).numpy()


def lucid_jacobian(t, y):
    """The exact Jacobian as a scipy.sparse.csr_array."""
    return jacobian(brusselator, lucid.tensor(y), sparse=True)


x = np.arange(1, N + 1) / (N + 1)
y0 = np.concatenate([1 + np.sin(2 * np.pi * x), np.full(N, 3.0)])
failures = []


def check(name: str, ok: bool, detail: str) -> None:
    print(f"  [{'ok' if ok else 'FAILED'}] {name}: {detail}")
    if not ok:
        failures.append(name)


print(f"Brusselator, N = {N} ({2 * N} unknowns), t in [0, {T_END:g}], BDF with rtol={RTOL:g}, atol={ATOL:g}")

# The pattern, from Lucid (structural: read off the recorded graph) and by hand.
found = sparsity(brusselator, lucid.tensor(y0))
tridiagonal = sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(N, N))
identity = sp.eye(N)
by_hand = sp.csr_array(sp.block_array([[tridiagonal, identity], [identity, tridiagonal]]))
scipy_groups = int(group_columns(by_hand).max()) + 1
print(f"  pattern: {found.nnz} nonzeros of {(2 * N) ** 2} ({found.nnz / (2 * N) ** 2:.2%});"
      f" Lucid colours: {found.colors} ({found.direction}), SciPy's column groups: {scipy_groups}")
check("Lucid's pattern equals the hand-built one", (found.pattern != by_hand).nnz == 0,
      f"{(found.pattern != by_hand).nnz} entries differ")

# Lucid's Jacobian at y0 against the closed form.
u0, v0 = y0[:N], y0[N:]
laplacian = c * sp.diags([1.0, -2.0, 1.0], [-1, 0, 1], shape=(N, N))
closed_form = sp.block_array([
    [laplacian + sp.diags(2 * u0 * v0 - (B + 1)), sp.diags(u0 ** 2)],
    [sp.diags(B - 2 * u0 * v0), laplacian - sp.diags(u0 ** 2)],
])
J0 = lucid_jacobian(0.0, y0)
error = abs(J0 - closed_form).max() / abs(closed_form).max()
check("Lucid's Jacobian equals the closed form", error < 1e-14, f"max relative error {error:.1e}")

runs = {}
for name, options in [("Lucid exact jac", {"jac": lucid_jacobian}),
                      ("SciPy finite differences", {"jac_sparsity": found.pattern}),
                      ("dense (no pattern)", {})]:
    rhs_calls = 0
    start = time.perf_counter()
    sol = solve_ivp(rhs, (0.0, T_END), y0, method="BDF", rtol=RTOL, atol=ATOL, **options)
    elapsed = time.perf_counter() - start
    runs[name] = sol
    print(f"  {name:25s} {elapsed:6.2f} s  steps {sol.t.size - 1:4d}  njev {sol.njev:3d}  nlu {sol.nlu:4d}"
          f"  nfev {sol.nfev:5d}  RHS calls incl. finite differences {rhs_calls:5d}")
    if not sol.success:
        check(f"{name} integrated to t = {T_END:g}", False, sol.message)

exact, approx, _ = runs.values()
if exact.success and approx.success:
    difference = np.abs(exact.y[:, -1] - approx.y[:, -1]).max()
    u_end = exact.y[:N, -1]
    print(f"  u(x, {T_END:g}) at x = 1/4, 1/2, 3/4: {np.round(np.interp([0.25, 0.5, 0.75], x, u_end), 6)}")
    check("the sparse runs reach the same solution", difference < 10 * RTOL,
          f"max |y_lucid - y_fd| at t = {T_END:g}: {difference:.1e}")

if failures:
    print(f"{len(failures)} check(s) FAILED: {', '.join(failures)}")
    sys.exit(1)
print("All checks passed.")
