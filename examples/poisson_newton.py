"""Newton's method with an exact sparse Jacobian: the 2-D Bratu problem.

The Bratu (solid-fuel ignition) problem on the unit square,

    -Laplace(u) = lambda * exp(u)   in (0, 1)^2,     u = 0 on the boundary,

has a solution for lambda below about 6.81; we take lambda = 6, close to that fold,
where the nonlinearity matters. On an N x N grid of interior points with spacing
h = 1 / (N + 1), the 5-point Laplacian turns it into N^2 equations

    F(u)_ij = (4 u_ij - u_{i-1,j} - u_{i+1,j} - u_{i,j-1} - u_{i,j+1}) / h^2 - lambda exp(u_ij) = 0

(u = 0 beyond the edges), written below with Lucid slices and ``cat``. Newton's method
solves J(u_k) du = -F(u_k), u_{k+1} = u_k + du, and converges quadratically from u = 0:
the number of correct digits roughly doubles each iteration.

Why sparse matters: for N = 100 the Jacobian is 10^4 x 10^4 -- 800 MB dense, and a dense
Jacobian would take 10^4 sweeps and a dense solve O(n^3). But each equation involves
five unknowns, so J has about 5 N^2 nonzeros. ``value_and_jacobian(F, u, sparse=True)``
returns F(u) and J(u) from one call of F; it reads
this pattern off the recorded graph, colours it (unknowns that share no equation get
one tangent together: about 5 colours, whatever N is) and fills J from that many
compressed sweeps; ``scipy.sparse.linalg.spsolve`` then solves the sparse system.
The pattern and colouring are cached, so only the first Newton iteration pays for them.

The script checks that the final residual is at round-off level (1e-13 / h^2) and exits
non-zero otherwise.

    python examples/poisson_newton.py [--n 100]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy.sparse.linalg import spsolve

import lucid
from lucid.autograd import sparsity, value_and_jacobian

LAMBDA = 6.0

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--n", type=int, default=100, help="interior grid points per side (n^2 unknowns)")
N = parser.parse_args().n
h = 1.0 / (N + 1)
# F is a difference of terms of size ~1/h^2, so its round-off floor is ~1e-15 / h^2.
TOLERANCE = 1e-13 / h**2


def bratu_residual(u):
    """F(u) for the flattened grid u (N^2 values, row by row)."""
    grid = u.reshape(N, N)
    zero_row = lucid.zeros(1, N, dtype=lucid.float64)
    zero_col = lucid.zeros(N, 1, dtype=lucid.float64)
    up = lucid.cat([zero_row, grid[:-1, :]], dim=0)
    down = lucid.cat([grid[1:, :], zero_row], dim=0)
    left = lucid.cat([zero_col, grid[:, :-1]], dim=1)
    right = lucid.cat([grid[:, 1:], zero_col], dim=1)
    minus_laplacian = (4 * grid - up - down - left - right) / h**2
    return (minus_laplacian - LAMBDA * lucid.exp(grid)).reshape(-1)


print(f"Bratu problem -Laplace(u) = {LAMBDA:g} exp(u), {N} x {N} grid ({N * N} unknowns)")
u = np.zeros(N * N)

# Stop once the Newton step is at round-off level: the residual then is too. Each
# iteration gets F and its sparse J from one call of the residual.
residual_norms, jacobian_seconds, step = [], [], np.inf
for iteration in range(20):
    start = time.perf_counter()
    F, J = value_and_jacobian(bratu_residual, lucid.tensor(u), sparse=True)
    seconds = time.perf_counter() - start
    F = F.numpy()
    residual_norms.append(np.abs(F).max())
    print(f"  iter {iteration}: max |F| = {residual_norms[-1]:.3e}", end="")
    if step < 1e-12:
        print()
        break
    jacobian_seconds.append(seconds)
    start = time.perf_counter()
    du = spsolve(J.tocsc(), F)
    solve_seconds = time.perf_counter() - start
    u = u - du
    step = np.abs(du).max()
    print(f"   step {step:.1e}   F and J {jacobian_seconds[-1] * 1e3:6.1f} ms   spsolve {solve_seconds * 1e3:6.1f} ms")

pattern = sparsity(bratu_residual, lucid.tensor(u))  # cached by now: no new detection
print(f"  Jacobian pattern: {pattern.nnz} nonzeros of {N**4:.3g}, {pattern.colors} colours ({pattern.direction})")
first, *cached = jacobian_seconds
print(f"  value_and_jacobian: first call {first * 1e3:.1f} ms (pattern + colouring + sweeps),"
      f" cached calls {np.median(cached) * 1e3:.1f} ms (median of {len(cached)})")
print(f"  max u = {u.max():.6f} at the centre (u is symmetric: "
      f"{np.abs(u.reshape(N, N) - u.reshape(N, N).T).max():.1e} off)")

ok = residual_norms[-1] < TOLERANCE
print(f"  [{'ok' if ok else 'FAILED'}] Newton converged: max |F| = {residual_norms[-1]:.1e} < {TOLERANCE:.0e}"
      f" after {len(residual_norms) - 1} iterations")
sys.exit(0 if ok else 1)
